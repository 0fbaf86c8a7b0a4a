-- The change-parcel feature table of the GeoPackage export (see gpkg.rs).
CREATE TABLE changes (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    geom MULTIPOLYGON,
    from_year INTEGER,
    to_year INTEGER,
    from_class TEXT,
    to_class TEXT,
    area_m2 DOUBLE,
    from_fid INTEGER,
    to_fid INTEGER,
    zone TEXT,
    zone_kind TEXT,
    village_code TEXT,
    village TEXT,
    station TEXT,
    station_code TEXT
);
