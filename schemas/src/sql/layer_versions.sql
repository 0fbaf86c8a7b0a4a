-- Newest first: the highest survey year, then the latest ingest (a re-ingested year wins).
SELECT v.id, v.layer_key, v.year, v.label, v.feature_count, v.bbox, v.srid,
       v.source_file, v.source_sha256,
       to_char(v.ingested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS ingested_at,
       v.ingested_by
FROM onemap.layer_versions v
ORDER BY v.layer_key, v.year DESC NULLS LAST, v.ingested_at DESC, v.id DESC
