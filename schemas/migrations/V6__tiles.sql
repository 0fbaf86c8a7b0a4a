-- Generalised land use for low-zoom tiles. At the zooms where parcels are a pixel or less, a
-- land-use version's tiles come from here instead of from its parcels: per zoom, the parcels
-- dissolved by class within cells of one tile, snapped and simplified to the zoom's tile unit,
-- so the county-wide picture of classes stays truthful and tiles stay small. Versions never
-- change, so each version is built once (the tile server builds it on first need) and goes
-- away with its version.
CREATE TABLE onemap.generalised_land_use (
    version_id bigint   NOT NULL REFERENCES onemap.layer_versions (id) ON DELETE CASCADE,
    zoom       smallint NOT NULL CHECK (zoom BETWEEN 0 AND 24),
    class      text     NOT NULL,
    geom_3857  geometry NOT NULL
);
CREATE INDEX generalised_land_use_version_zoom ON onemap.generalised_land_use (version_id, zoom);
CREATE INDEX generalised_land_use_geom ON onemap.generalised_land_use USING gist (geom_3857);

-- One row per version whose generalisation is complete (written in the same transaction as
-- its rows, so a reader never sees half of one).
CREATE TABLE onemap.generalised_versions (
    version_id bigint   PRIMARY KEY REFERENCES onemap.layer_versions (id) ON DELETE CASCADE,
    max_zoom   smallint NOT NULL,
    built_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    build_ms   bigint   NOT NULL
);
