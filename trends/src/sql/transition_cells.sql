-- From-class × to-class area. $1 from-version, $2 to-version, $3 zone version (NULL: the whole
-- extent), $4 zone keys, $5 level (1: the first two characters of the code).
SELECT CASE WHEN $5::int = 1 THEN left(from_class, 2) ELSE from_class END AS from_class,
       CASE WHEN $5::int = 1 THEN left(to_class, 2) ELSE to_class END AS to_class,
       sum(area_m2) AS area_m2
FROM onemap.trend_transitions
WHERE from_version = $1 AND to_version = $2
  AND CASE WHEN $3::bigint IS NULL THEN zone_version_id IS NULL
           ELSE zone_version_id = $3 AND zone_key = ANY($4::text[]) END
GROUP BY 1, 2
ORDER BY 1, 2
