-- The catalog: who owns what, which layers exist, which versions of them were published,
-- and the reference tables (departments, themes, GB/T 21010 land classes).
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE SCHEMA IF NOT EXISTS onemap;

CREATE TABLE onemap.departments (
    code    text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{0,31}$'),
    name_zh text NOT NULL,
    name_en text NOT NULL,
    kind    text NOT NULL
);

CREATE TABLE onemap.themes (
    code       text PRIMARY KEY,
    name_zh    text NOT NULL,
    name_en    text NOT NULL,
    sort_order int  NOT NULL
);

-- GB/T 21010-2017 classes plus the survey's working classes (00, 05H1, 08H1, 08H2, 201-205).
CREATE TABLE onemap.land_classes (
    code    text PRIMARY KEY,
    name_zh text NOT NULL,
    name_en text NOT NULL,
    level   smallint NOT NULL CHECK (level IN (1, 2)),
    parent  text REFERENCES onemap.land_classes (code),
    color   text NOT NULL CHECK (color ~ '^#[0-9a-f]{6}$'),
    working boolean NOT NULL DEFAULT false
);

CREATE TABLE onemap.layers (
    -- Internal numeric key: the only layer identifier ever written into generated SQL.
    key           serial PRIMARY KEY,
    id            text NOT NULL UNIQUE CHECK (id ~ '^[a-z][a-z0-9_]{0,62}$'),
    title_zh      text NOT NULL,
    title_en      text NOT NULL,
    department    text NOT NULL REFERENCES onemap.departments (code),
    theme         text NOT NULL REFERENCES onemap.themes (code),
    geometry_type text NOT NULL CHECK (geometry_type IN ('point', 'line', 'polygon')),
    access_level  text NOT NULL DEFAULT 'public'
                  CHECK (access_level IN ('public', 'internal', 'restricted')),
    -- Attribute holding the land-class code, for land-use layers (DLBM in the survey).
    class_field   text,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE onemap.layer_versions (
    id            bigserial PRIMARY KEY,
    layer_key     int NOT NULL REFERENCES onemap.layers (key) ON DELETE CASCADE,
    year          int CHECK (year BETWEEN 1900 AND 2200),
    label         text NOT NULL,
    feature_count bigint NOT NULL CHECK (feature_count >= 0),
    -- west, south, east, north in EPSG:4326; null for a version without geometry
    bbox          double precision[] CHECK (bbox IS NULL OR cardinality(bbox) = 4),
    srid          int NOT NULL,
    source_file   text NOT NULL,
    source_sha256 text NOT NULL CHECK (source_sha256 ~ '^[0-9a-f]{64}$'),
    ingested_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    ingested_by   text NOT NULL
);
CREATE INDEX layer_versions_layer_year ON onemap.layer_versions (layer_key, year);

-- Every feature of every version. One partition per version, attached only when the version's
-- load is complete, so readers never see a half-loaded version.
CREATE TABLE onemap.features (
    version_id bigint NOT NULL,
    fid        bigint NOT NULL,
    props      jsonb  NOT NULL,
    -- As the file had it, in the file's own SRID.
    geom       geometry NOT NULL,
    -- Web Mercator copy for tiles; clipped to the projection's latitude limits first.
    geom_3857  geometry GENERATED ALWAYS AS (
                   ST_Transform(
                       ST_ClipByBox2D(
                           CASE WHEN ST_SRID(geom) = 4326 THEN geom ELSE ST_Transform(geom, 4326) END,
                           ST_MakeEnvelope(-180, -85.0511287798, 180, 85.0511287798, 4326)),
                       3857)) STORED,
    -- Geodesic area on the WGS 84 ellipsoid, for polygons.
    area_m2    double precision GENERATED ALWAYS AS (
                   CASE WHEN ST_Dimension(geom) = 2 THEN
                       ST_Area(geography(CASE WHEN ST_SRID(geom) = 4326 THEN geom
                                              ELSE ST_Transform(geom, 4326) END))
                   END) STORED
) PARTITION BY LIST (version_id);
CREATE INDEX features_geom_3857 ON onemap.features USING gist (geom_3857);
CREATE UNIQUE INDEX features_version_fid ON onemap.features (version_id, fid);
