-- One geometry type per version: single geometries become multi when the version holds both.
-- geom_3857 set to NULL is recomputed by the partition's trigger.
UPDATE {table} SET geom = ST_Multi(geom), geom_3857 = NULL
WHERE ST_GeometryType(geom) NOT LIKE 'ST_Multi%'
  AND EXISTS (SELECT 1 FROM {table} WHERE ST_GeometryType(geom) LIKE 'ST_Multi%')
