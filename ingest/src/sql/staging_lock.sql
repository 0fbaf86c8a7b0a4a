-- The lock a loader holds on its staging table (by version id) for as long as it lives: shared,
-- taken by its control connection and by each of its COPY streams, so that the table counts as
-- abandoned only once every one of its connections is gone (staging_try_lock.sql asks for it
-- exclusively).
SELECT pg_advisory_lock_shared(hashtext('onemap.ingest_staging'), ($1::bigint % 2147483647)::int)
