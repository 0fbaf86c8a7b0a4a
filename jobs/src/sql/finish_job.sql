-- Only the worker holding the job records its end (a job whose lease ran out may have been
-- taken by another worker meanwhile).
UPDATE onemap.ingest_jobs
SET state = $3,
    report = $4,
    error = $5,
    rows_read = coalesce($6, rows_read),
    bytes_total = coalesce($7, bytes_total),
    bytes_read = CASE WHEN $3 = 'succeeded' THEN coalesce($7, bytes_total) ELSE bytes_read END,
    percent = CASE WHEN $3 = 'succeeded' THEN 100 ELSE percent END,
    finished_at = clock_timestamp(),
    heartbeat_at = clock_timestamp()
WHERE id = $1 AND worker = $2 AND state = 'running'
