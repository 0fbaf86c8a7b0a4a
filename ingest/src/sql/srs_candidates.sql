-- EPSG definitions of one kind ('PROJCS[%' or 'GEOGCS[%'), to compare with a file's WKT.
SELECT srid, srtext
FROM spatial_ref_sys
WHERE auth_name = 'EPSG' AND srtext LIKE $1
ORDER BY srid
