-- The lock a loader holds on its staging table (by version id) for as long as it lives; a
-- staging table whose lock can be taken belongs to a loader that is gone.
SELECT pg_advisory_lock(hashtext('onemap.ingest_staging'), ($1::bigint % 2147483647)::int)
