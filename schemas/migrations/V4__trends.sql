-- Change-trend analytics: summary tables filled once per survey year (the overlay of a land-use
-- version with each zoning layer and with the previous survey year), so that area series and
-- transition matrices read a few hundred rows instead of intersecting parcels on the fly.
-- A NULL zone (zone_layer_key, zone_version_id and zone_key all NULL) is the land-use layer's
-- whole extent: the county.

-- Geodesic area on the WGS 84 ellipsoid, the same expression as onemap.features.area_m2.
CREATE FUNCTION onemap.geodesic_area(g geometry) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    -- Intersections may come back as collections holding touching edges and points: only
    -- their polygons have area.
    SELECT CASE WHEN ST_Dimension(g) = 2 THEN
        ST_Area(geography(ST_CollectionExtract(
            CASE WHEN ST_SRID(g) = 4326 THEN g ELSE ST_Transform(g, 4326) END, 3)))
    ELSE 0 END
$$;

-- Area of each land class in each zone, per land-use version.
CREATE TABLE onemap.trend_zone_area (
    version_id      bigint NOT NULL REFERENCES onemap.layer_versions (id) ON DELETE CASCADE,
    zone_layer_key  int REFERENCES onemap.layers (key) ON DELETE CASCADE,
    zone_version_id bigint REFERENCES onemap.layer_versions (id) ON DELETE CASCADE,
    -- The zone feature's fid, as text.
    zone_key        text,
    -- The parcel's class code as the survey wrote it ('' when it had none).
    class_code      text NOT NULL,
    area_m2         double precision NOT NULL,
    CHECK ((zone_layer_key IS NULL) = (zone_version_id IS NULL)
           AND (zone_version_id IS NULL) = (zone_key IS NULL)),
    UNIQUE NULLS NOT DISTINCT (version_id, zone_version_id, zone_key, class_code)
);

-- Pieces of land whose class changed between two versions of a land-use layer: the overlay of
-- the two surveys (parcels split and merge, so geometries are intersected, not ids matched).
CREATE TABLE onemap.change_parcels (
    from_version bigint NOT NULL REFERENCES onemap.layer_versions (id) ON DELETE CASCADE,
    to_version   bigint NOT NULL REFERENCES onemap.layer_versions (id) ON DELETE CASCADE,
    from_fid     bigint NOT NULL,
    to_fid       bigint NOT NULL,
    from_class   text NOT NULL,
    to_class     text NOT NULL,
    -- In the SRID of the to-version.
    geom         geometry NOT NULL,
    area_m2      double precision NOT NULL,
    PRIMARY KEY (from_version, to_version, from_fid, to_fid)
);
CREATE INDEX change_parcels_geom ON onemap.change_parcels USING gist (geom);

-- From-class × to-class area per zone between two versions, persistence (from = to) included.
CREATE TABLE onemap.trend_transitions (
    from_version    bigint NOT NULL REFERENCES onemap.layer_versions (id) ON DELETE CASCADE,
    to_version      bigint NOT NULL REFERENCES onemap.layer_versions (id) ON DELETE CASCADE,
    zone_layer_key  int REFERENCES onemap.layers (key) ON DELETE CASCADE,
    zone_version_id bigint REFERENCES onemap.layer_versions (id) ON DELETE CASCADE,
    zone_key        text,
    from_class      text NOT NULL,
    to_class        text NOT NULL,
    area_m2         double precision NOT NULL,
    CHECK ((zone_layer_key IS NULL) = (zone_version_id IS NULL)
           AND (zone_version_id IS NULL) = (zone_key IS NULL)),
    UNIQUE NULLS NOT DISTINCT (from_version, to_version, zone_version_id, zone_key, from_class,
                               to_class)
);

-- What has been precomputed, and how long it took. A run with no rows is still a run: a zone
-- that holds no parcels has been computed, not forgotten.
CREATE TABLE onemap.trend_runs (
    kind            text NOT NULL CHECK (kind IN ('area', 'transitions')),
    -- The land-use version (the to-version of transitions).
    version_id      bigint NOT NULL REFERENCES onemap.layer_versions (id) ON DELETE CASCADE,
    from_version    bigint REFERENCES onemap.layer_versions (id) ON DELETE CASCADE,
    -- NULL: the whole layer extent (and, for transitions, the change parcels).
    zone_version_id bigint REFERENCES onemap.layer_versions (id) ON DELETE CASCADE,
    duration_ms     double precision NOT NULL,
    row_count       bigint NOT NULL,
    computed_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK ((kind = 'transitions') = (from_version IS NOT NULL)),
    UNIQUE NULLS NOT DISTINCT (kind, version_id, from_version, zone_version_id)
);
