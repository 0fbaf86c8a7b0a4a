-- $1 version id, $2 optional bbox (west, south, east, north in EPSG:4326), $3 limit, $4 offset,
-- $5 optional top-level attribute name and $6 the value it must equal (as text).
SELECT f.fid, f.props, f.area_m2,
       ST_AsGeoJSON(ST_Transform(f.geom, 4326), 7)::json AS geometry
FROM onemap.features f
WHERE f.version_id = $1
  AND ($2::float8[] IS NULL
       OR f.geom_3857 && ST_Transform(
              ST_MakeEnvelope($2[1], greatest($2[2], -85.05112878), $2[3],
                              least($2[4], 85.05112878), 4326),
              3857))
  AND ($5::text IS NULL OR f.props ->> $5::text = $6::text)
ORDER BY f.fid
LIMIT $3 OFFSET $4
