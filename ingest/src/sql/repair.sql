-- Invalid geometries made valid in place, keeping the layer's dimension ($1: 1 points,
-- 2 lines, 3 polygons); geom_3857 set to NULL makes the partition's trigger recompute it and
-- area_m2 from the repaired geometry.
WITH fixed AS (
    UPDATE {table} SET geom = ST_CollectionExtract(ST_MakeValid(geom), $1), geom_3857 = NULL
    WHERE NOT ST_IsValid(geom)
    RETURNING fid, ST_IsEmpty(geom) AS empty
)
SELECT fid, empty FROM fixed ORDER BY fid
