-- The features of a zoning version a key names: by fid, or by its name (name, MC or XZQMC).
-- $1 zone version, $2 key (NULL: every feature).
SELECT fid::text
FROM onemap.features
WHERE version_id = $1
  AND ST_Dimension(geom) = 2
  AND ($2::text IS NULL
       OR fid::text = $2 OR props ->> 'name' = $2 OR props ->> 'MC' = $2 OR props ->> 'XZQMC' = $2)
