-- Area by class of a whole land-use version. $1 version, $2 class field.
INSERT INTO onemap.trend_zone_area (version_id, class_code, area_m2)
SELECT $1, coalesce(p.props ->> $2::text, ''), sum(p.area_m2)
FROM onemap.features p
WHERE p.version_id = $1
GROUP BY 2
