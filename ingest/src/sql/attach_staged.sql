-- index_and_attach.sql for a staging table whose indexes were built beforehand (staging_gist.sql,
-- staging_unique.sql): in the publishing transaction, it stops being a staging table and
-- becomes the version's partition. The CHECK constraint spares ATTACH its validation scan.
DROP TRIGGER derive ON {table};
COMMENT ON TABLE {table} IS NULL;
ALTER TABLE onemap.features ATTACH PARTITION {table} FOR VALUES IN ({id});
