-- Invalid geometries made valid in place, keeping the layer's dimension ($1: 1 points,
-- 2 lines, 3 polygons); the generated geom_3857 and area_m2 are recomputed by the UPDATE.
WITH fixed AS (
    UPDATE {table} SET geom = ST_CollectionExtract(ST_MakeValid(geom), $1)
    WHERE NOT ST_IsValid(geom)
    RETURNING fid, ST_IsEmpty(geom) AS empty
)
SELECT fid, empty FROM fixed ORDER BY fid
