SELECT id, state, request, original_name, requested_by, requester, department, attempts,
       rows_read, bytes_read, bytes_total, percent, report, error, created_at::text AS created_at,
       started_at::text AS started_at, finished_at::text AS finished_at
FROM onemap.ingest_jobs
WHERE id = $1
