-- Area by class per year. $1 land-use versions, $2 their years, $3 zone version (NULL: the
-- whole extent), $4 zone keys, $5 level (1: the first two characters of the code).
SELECT v.year,
       CASE WHEN $5::int = 1 THEN left(a.class_code, 2) ELSE a.class_code END AS class,
       sum(a.area_m2) AS area_m2
FROM unnest($1::bigint[], $2::int[]) AS v(id, year)
JOIN onemap.trend_zone_area a ON a.version_id = v.id
WHERE CASE WHEN $3::bigint IS NULL THEN a.zone_version_id IS NULL
           ELSE a.zone_version_id = $3 AND a.zone_key = ANY($4::text[]) END
GROUP BY 1, 2
ORDER BY 1, 2
