-- The deepest generalised zoom of version $1, if its generalisation is complete.
SELECT max_zoom::int FROM onemap.generalised_versions WHERE version_id = $1::bigint
