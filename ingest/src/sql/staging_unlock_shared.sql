-- The loader's control connection gives up its share of the lock of staging_lock.sql.
SELECT pg_advisory_unlock_shared(hashtext('onemap.ingest_staging'), ($1::bigint % 2147483647)::int)
