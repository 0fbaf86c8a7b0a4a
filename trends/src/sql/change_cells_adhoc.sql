-- Changed area (from-class ≠ to-class) by the codes as surveyed, inside an ad-hoc zone: the
-- precomputed change parcels clipped to the zone (pieces wholly inside keep their area; pieces
-- under 0.01 m², slivers of a zone edge along a parcel border, dropped as in area_adhoc.sql).
-- $1 from-version, $2 to-version, $3 zone (EWKB, SRID 4326 or 4490), $4 SRID of the to-version.
WITH zone AS MATERIALIZED (
    SELECT ST_Transform(ST_GeomFromEWKB($3::bytea), $4::int) AS geom
)
SELECT from_class, to_class, sum(area_m2) AS area_m2
FROM (
    SELECT c.from_class, c.to_class,
           CASE WHEN ST_Covers(z.geom, c.geom) THEN c.area_m2
                ELSE onemap.geodesic_area(ST_Intersection(z.geom, c.geom)) END AS area_m2
    FROM zone z
    JOIN onemap.change_parcels c
      ON c.from_version = $1 AND c.to_version = $2
     AND c.geom && z.geom AND ST_Intersects(z.geom, c.geom)
    OFFSET 0
) pieces
WHERE area_m2 >= 0.01
GROUP BY 1, 2
ORDER BY 1, 2
