-- Built on its own connection at the same time as staging_unique.sql; the same index
-- index_and_attach.sql builds, so ATTACH adopts it.
CREATE INDEX ON {table} USING gist (geom_3857)
