-- Registers the geometry column `geom` of a feature table in gpkg_geometry_columns (2-D).
INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m)
VALUES (?1, 'geom', ?2, ?3, 0, 0)
