-- Ingest publishes with its own least-privileged role, onemap_writer (the job workers, the
-- worker inside `onemap serve`, `onemap ingest`). A publication ends with
-- `ALTER TABLE onemap.features ATTACH PARTITION onemap.features_vN`, which PostgreSQL allows
-- only to the owner of both tables; the partition is created by onemap_writer, so
-- onemap_writer becomes the owner of onemap.features (and of the partitions already attached).
--
-- Why ownership rather than a SECURITY DEFINER attach function: the attach is then the same
-- statement whoever publishes, and nothing else changes for the other roles. onemap_reader
-- keeps SELECT only (it owns nothing and gains no grant here); the audit trail stays owned by
-- the migrating role, with INSERT only for onemap_writer and its append-only triggers. What
-- onemap_writer gains is what an owner may do to the feature rows it already writes.
DO $$
DECLARE
    part regclass;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'onemap_writer') THEN
        RAISE NOTICE 'onemap_writer missing: ingest publishes with the login role';
        RETURN;
    END IF;
    BEGIN
        EXECUTE 'ALTER TABLE onemap.features OWNER TO onemap_writer';
        FOR part IN SELECT i.inhrelid::regclass FROM pg_inherits i
                    WHERE i.inhparent = 'onemap.features'::regclass LOOP
            EXECUTE format('ALTER TABLE %s OWNER TO onemap_writer', part);
        END LOOP;
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'cannot give onemap.features to onemap_writer: left to the DBA';
    END;
END
$$;
