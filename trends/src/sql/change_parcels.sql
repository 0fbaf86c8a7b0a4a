-- The pieces whose class changed. $1 from-version, $2 to-version.
INSERT INTO onemap.change_parcels (from_version, to_version, from_fid, to_fid, from_class,
                                   to_class, geom, area_m2)
SELECT $1, $2, from_fid, to_fid, from_class, to_class, geom, area_m2
FROM pg_temp.trend_pieces
WHERE from_class <> to_class
