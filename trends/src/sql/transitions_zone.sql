-- From-class × to-class area inside each zone of a zoning version, from the overlay pieces
-- (zones brought into the pieces' SRID once; pieces wholly inside a zone keep their area).
-- $1 from-version, $2 to-version, $3 zone layer key, $4 zone version, $5 to-version SRID.
WITH zones AS MATERIALIZED (
    SELECT fid, ST_Transform(geom, $5::int) AS geom
    FROM onemap.features
    WHERE version_id = $4 AND ST_Dimension(geom) = 2
)
INSERT INTO onemap.trend_transitions (from_version, to_version, zone_layer_key, zone_version_id,
                                      zone_key, from_class, to_class, area_m2)
SELECT $1, $2, $3, $4, s.zone_key, s.from_class, s.to_class, s.area_m2
FROM (
    SELECT zone_key, from_class, to_class, sum(area_m2) AS area_m2
    FROM (
        -- Areas computed before grouping (OFFSET 0: no geometry carried into the sort).
        SELECT z.fid::text AS zone_key, p.from_class, p.to_class,
               CASE WHEN ST_Covers(z.geom, p.geom) THEN p.area_m2
                    ELSE onemap.geodesic_area(ST_Intersection(z.geom, p.geom)) END AS area_m2
        FROM zones z
        JOIN pg_temp.trend_pieces p ON p.geom && z.geom AND ST_Intersects(z.geom, p.geom)
        OFFSET 0
    ) pieces
    GROUP BY 1, 2, 3
) s
WHERE s.area_m2 > 0
