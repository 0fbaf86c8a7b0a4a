-- A layer's class field and its versions that carry a survey year, the newest ingest of each
-- year only, oldest year first (one row with a NULL version when it has none). $1: layer id.
SELECT DISTINCT ON (v.year) l.key AS layer_key, l.class_field, v.id AS version_id, v.year,
       v.srid
FROM onemap.layers l
LEFT JOIN onemap.layer_versions v ON v.layer_key = l.key AND v.year IS NOT NULL
WHERE l.id = $1
ORDER BY v.year, v.ingested_at DESC, v.id DESC
