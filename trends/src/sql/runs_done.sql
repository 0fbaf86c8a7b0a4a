-- The zone versions already computed for a land-use version (NULL: the whole extent).
-- $1 kind, $2 version, $3 from-version (NULL for areas).
SELECT zone_version_id
FROM onemap.trend_runs
WHERE kind = $1 AND version_id = $2 AND from_version IS NOT DISTINCT FROM $3::bigint
