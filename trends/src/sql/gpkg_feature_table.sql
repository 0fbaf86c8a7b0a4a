-- Registers a feature table of a GeoPackage in gpkg_contents: name, identifier, description,
-- last change (now when NULL), extent (NULL when unknown) and SRS.
INSERT INTO gpkg_contents
    (table_name, data_type, identifier, description, last_change, min_x, min_y, max_x, max_y, srs_id)
VALUES (?1, 'features', ?2, ?3, coalesce(?4, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), ?5, ?6, ?7, ?8, ?9)
