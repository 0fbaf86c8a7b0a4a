-- The deepest generalised zoom of version $1, if its generalisation is complete and was built
-- by method $2 (one built otherwise is rebuilt).
SELECT max_zoom::int FROM onemap.generalised_versions
WHERE version_id = $1::bigint AND method = $2::text
