-- Marks version $1 generalised up to zoom $2 by method $4, built in $3 milliseconds.
INSERT INTO onemap.generalised_versions (version_id, max_zoom, build_ms, method)
VALUES ($1::bigint, $2::int, $3::bigint, $4::text)
