UPDATE onemap.ingest_jobs
SET state = 'queued', attempts = 0, error = NULL, report = NULL, worker = NULL,
    finished_at = NULL, heartbeat_at = NULL
WHERE id = $1 AND state = 'failed'
RETURNING id
