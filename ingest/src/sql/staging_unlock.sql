SELECT pg_advisory_unlock(hashtext('onemap.ingest_staging'), ($1::bigint % 2147483647)::int)
