-- The overlay of two survey years, piece by piece, persistence included; dropped at commit.
DROP TABLE IF EXISTS pg_temp.trend_pieces;
CREATE TEMP TABLE trend_pieces (
    from_fid   bigint NOT NULL,
    to_fid     bigint NOT NULL,
    from_class text NOT NULL,
    to_class   text NOT NULL,
    geom       geometry NOT NULL,
    area_m2    double precision NOT NULL
) ON COMMIT DROP
