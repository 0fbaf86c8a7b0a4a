-- The definitions a GeoPackage needs of an SRID. $1 SRID.
SELECT auth_name, auth_srid, srtext FROM spatial_ref_sys WHERE srid = $1
