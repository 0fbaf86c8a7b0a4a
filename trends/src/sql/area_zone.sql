-- Area by class of a land-use version inside each zone of a zoning version. The zones are
-- brought into the parcels' SRID once (materialized, not per candidate row); the GiST index on
-- geom_3857 finds candidates, ST_Intersects keeps real ones (the zone prepared once, as first
-- argument), and a parcel wholly inside its zone counts with its stored geodesic area:
-- ST_Intersection runs only on parcels crossing a zone border.
-- $1 land-use version, $2 zone layer key, $3 zone version, $4 class field,
-- $5 SRID of the land-use version.
WITH zones AS MATERIALIZED (
    SELECT fid, geom_3857, ST_Transform(geom, $5::int) AS geom
    FROM onemap.features
    WHERE version_id = $3 AND ST_Dimension(geom) = 2
)
INSERT INTO onemap.trend_zone_area (version_id, zone_layer_key, zone_version_id, zone_key,
                                    class_code, area_m2)
SELECT $1, $2, $3, s.zone_key, s.class_code, s.area_m2
FROM (
    SELECT zone_key, class_code, sum(area_m2) AS area_m2
    FROM (
        -- Each piece's area is computed here, before grouping: OFFSET 0 keeps the planner from
        -- carrying every parcel's geometry into the sort of the GROUP BY.
        SELECT z.fid::text AS zone_key, coalesce(p.props ->> $4::text, '') AS class_code,
               CASE WHEN ST_Covers(z.geom, p.geom) THEN p.area_m2
                    ELSE onemap.geodesic_area(ST_Intersection(z.geom, p.geom)) END AS area_m2
        FROM zones z
        JOIN onemap.features p
          ON p.version_id = $1 AND p.geom_3857 && z.geom_3857 AND ST_Intersects(z.geom, p.geom)
        OFFSET 0
    ) pieces
    GROUP BY 1, 2
) s
WHERE s.area_m2 > 0
