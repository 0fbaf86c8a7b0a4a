-- From-class × to-class area over the whole extent. $1 from-version, $2 to-version.
INSERT INTO onemap.trend_transitions (from_version, to_version, from_class, to_class, area_m2)
SELECT $1, $2, from_class, to_class, sum(area_m2)
FROM pg_temp.trend_pieces
GROUP BY from_class, to_class
