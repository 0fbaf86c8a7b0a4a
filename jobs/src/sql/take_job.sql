-- The oldest queued job, or a running one whose worker's lease ran out ($1 seconds without a
-- heartbeat) and that has attempts left ($2); SKIP LOCKED lets workers take jobs side by side.
UPDATE onemap.ingest_jobs
SET state = 'running',
    attempts = attempts + 1,
    worker = $3,
    started_at = clock_timestamp(),
    heartbeat_at = clock_timestamp(),
    rows_read = 0,
    bytes_read = NULL,
    percent = NULL,
    error = NULL
WHERE id = (
    SELECT id FROM onemap.ingest_jobs
    WHERE state = 'queued'
       OR (state = 'running'
           AND heartbeat_at < clock_timestamp() - make_interval(secs => $1)
           AND attempts < $2)
    ORDER BY id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING id, request, file_path, upload, requester, attempts
