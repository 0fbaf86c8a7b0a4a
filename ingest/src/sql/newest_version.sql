SELECT id, label, feature_count, bbox, srid, source_sha256
FROM onemap.layer_versions
WHERE layer_key = $1 AND year IS NOT DISTINCT FROM $2
ORDER BY id DESC
LIMIT 1
