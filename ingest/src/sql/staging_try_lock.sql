SELECT pg_try_advisory_lock(hashtext('onemap.ingest_staging'), ($1::bigint % 2147483647)::int)
