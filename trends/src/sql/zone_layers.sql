-- Every polygon layer that is not a land-use layer serves as zoning: its newest version.
SELECT DISTINCT ON (l.key) l.key AS layer_key, l.id AS layer_id, v.id AS version_id, v.srid
FROM onemap.layers l
JOIN onemap.layer_versions v ON v.layer_key = l.key
WHERE l.geometry_type = 'polygon' AND l.class_field IS NULL
ORDER BY l.key, v.year DESC NULLS LAST, v.ingested_at DESC, v.id DESC
