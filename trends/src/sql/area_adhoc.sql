-- Area by class of a land-use version inside an ad-hoc zone: parcels wholly inside count with
-- their stored geodesic area, only those crossing the zone's border are intersected. The zone
-- is transformed once (materialized) and is the first argument of the spatial predicates, so
-- PostGIS prepares it once for every candidate.
-- Pieces under 0.01 m² (the survey's own precision) are slivers of a zone edge drawn along a
-- parcel border, left by the round trip through longitude/latitude: dropped.
-- $1 land-use version, $2 class field, $3 zone (EWKB, SRID 4326 or 4490), $4 SRID of the
-- land-use version.
WITH zone AS MATERIALIZED (
    SELECT ST_Transform(g, $4::int) AS geom,
           -- The candidates' index box, a metre wider: the projections' edges differ by less.
           ST_Expand(ST_Envelope(ST_Transform(g, 3857)), 1) AS box
    FROM (SELECT ST_GeomFromEWKB($3::bytea) AS g) z
)
SELECT class_code, sum(area_m2) AS area_m2
FROM (
    SELECT coalesce(p.props ->> $2::text, '') AS class_code,
           CASE WHEN ST_Covers(z.geom, p.geom) THEN p.area_m2
                ELSE onemap.geodesic_area(ST_Intersection(z.geom, p.geom)) END AS area_m2
    FROM zone z
    JOIN onemap.features p
      ON p.version_id = $1 AND p.geom_3857 && z.box AND ST_Intersects(z.geom, p.geom)
    OFFSET 0
) pieces
WHERE area_m2 >= 0.01
GROUP BY 1
ORDER BY 1
