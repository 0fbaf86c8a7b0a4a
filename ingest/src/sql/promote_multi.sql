-- One geometry type per version: single geometries become multi when the version holds both.
UPDATE {table} SET geom = ST_Multi(geom)
WHERE ST_GeometryType(geom) NOT LIKE 'ST_Multi%'
  AND EXISTS (SELECT 1 FROM {table} WHERE ST_GeometryType(geom) LIKE 'ST_Multi%')
