UPDATE onemap.ingest_jobs
SET heartbeat_at = clock_timestamp(),
    rows_read = $3,
    bytes_read = $4,
    bytes_total = $5,
    percent = $6
WHERE id = $1 AND worker = $2 AND state = 'running'
