-- Records a spatial reference system in a GeoPackage (replacing a row of the same srs_id).
INSERT OR REPLACE INTO gpkg_spatial_ref_sys
    (srs_name, srs_id, organization, organization_coordsys_id, definition, description)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
