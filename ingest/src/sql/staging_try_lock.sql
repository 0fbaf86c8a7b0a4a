-- The sweep's test of a staging table: its lock can be taken exclusively only when no
-- connection of its loader holds its share (staging_lock.sql).
SELECT pg_try_advisory_lock(hashtext('onemap.ingest_staging'), ($1::bigint % 2147483647)::int)
