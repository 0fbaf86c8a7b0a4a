-- Running jobs whose worker stopped renewing the lease, and that already used every attempt.
UPDATE onemap.ingest_jobs
SET state = 'failed',
    finished_at = clock_timestamp(),
    error = format('the worker stopped %s times without finishing (killed or out of memory?)', attempts)
WHERE state = 'running'
  AND heartbeat_at < clock_timestamp() - make_interval(secs => $1)
  AND attempts >= $2
