-- The change pieces in tile z=$5, x=$6, y=$7 as one MVT layer `changes` (segments.sql, with the
-- same ST_AsMVT pattern as the layer tiles: the envelope grown by the buffer, shapes clipped).
-- $1–$4 as in segments.sql.
SELECT ST_AsMVT(t, 'changes', 4096, 'geom')
FROM (
    SELECT s.from_class, s.to_class, s.trend, s.zone_kind AS zone, s.area_m2, s.flagged,
           s.from_fid, s.to_fid,
           ST_AsMVTGeom(ST_Transform(s.geom, 3857), ST_TileEnvelope($5::int, $6::int, $7::int),
                        4096, 64, true) AS geom
    FROM (
        -- segments.sql
        SEGMENTS
    ) s
) t
WHERE t.geom IS NOT NULL
