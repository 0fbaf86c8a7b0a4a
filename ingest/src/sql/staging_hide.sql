-- A staging table is committed before its rows are loaded, so every COPY stream sees it; it is
-- marked (the sweep of leftovers looks for this comment) and closed to everyone but its owner:
-- readers never see a staging table's rows. Runs with create_partition.sql as one transaction.
-- {table} is an escaped identifier: no user text reaches this DDL.
COMMENT ON TABLE {table} IS 'onemap ingest staging';
REVOKE ALL ON {table} FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'onemap_reader') THEN
        EXECUTE 'REVOKE ALL ON {table} FROM onemap_reader';
    END IF;
END
$$;
