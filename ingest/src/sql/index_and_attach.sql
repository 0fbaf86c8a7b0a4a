-- Indexes built after the COPY are far cheaper than maintained during it; they match the
-- parent's partitioned indexes, so ATTACH adopts them instead of building new ones, and the
-- CHECK constraint spares ATTACH its validation scan. The loading trigger goes first: a
-- published partition is written only by ingest's own statements.
DROP TRIGGER derive ON {table};
CREATE INDEX ON {table} USING gist (geom_3857);
CREATE UNIQUE INDEX ON {table} (version_id, fid);
ALTER TABLE onemap.features ATTACH PARTITION {table} FOR VALUES IN ({id});
