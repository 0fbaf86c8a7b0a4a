INSERT INTO onemap.ingest_jobs
    (request, file_path, original_name, upload, requested_by, requester, department)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id
