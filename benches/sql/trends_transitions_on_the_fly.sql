-- The straightforward transition matrix (benches/trends.sh): the parcels of two survey years of
-- land-use layer dltb overlaid with each other and clipped to one zone on the fly, geodesic
-- area summed by from-class × to-class. psql variables: zone_layer, zone, from_year, to_year.
WITH z AS (
    SELECT ST_SetSRID(ST_Transform(f.geom, 4490), 4490) AS geom, ST_Transform(f.geom, 3857) AS geom_3857
    FROM onemap.features f
    JOIN onemap.layer_versions v ON v.id = f.version_id
    JOIN onemap.layers l ON l.key = v.layer_key
    WHERE l.id = :'zone_layer' AND f.props ->> 'name' = :'zone'
),
year_parcels AS (
    SELECT v.year, f.props ->> 'DLBM' AS class, f.geom, f.geom_3857
    FROM z
    JOIN onemap.features f ON f.version_id = ANY (ARRAY(
        SELECT v.id FROM onemap.layer_versions v JOIN onemap.layers l ON l.key = v.layer_key
        WHERE l.id = 'dltb' AND v.year IN (:from_year, :to_year)))
    AND f.geom_3857 && z.geom_3857 AND ST_Intersects(f.geom, z.geom)
    JOIN onemap.layer_versions v ON v.id = f.version_id
    JOIN onemap.layers l ON l.key = v.layer_key
    WHERE l.id = 'dltb' AND v.year IN (:from_year, :to_year)
)
SELECT a.class AS from_class, b.class AS to_class,
       sum(ST_Area(ST_Intersection(ST_Intersection(a.geom, b.geom), z.geom)::geography)) AS area_m2
FROM z, year_parcels a
JOIN year_parcels b ON b.year = :to_year AND a.geom_3857 && b.geom_3857
    AND ST_Intersects(a.geom, b.geom)
WHERE a.year = :from_year
GROUP BY 1, 2
ORDER BY 1, 2;
