-- A shapefile's clue geometries from its own CRS to lon/lat (CGCS2000, EPSG:4490), in order.
-- $1 GeoJSON geometries in the file's CRS, $2 that CRS's EPSG code.
SELECT ST_AsGeoJSON(ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(g), $2::int), 4490), 9)
FROM unnest($1::text[]) WITH ORDINALITY AS t(g, n)
ORDER BY n
