-- The straightforward area series (benches/trends.sh): every survey year's parcels of land-use
-- layer dltb intersected with one zone on the fly, geodesic area summed by class (DLBM).
-- psql variables: zone_layer, zone (the zone's name).
WITH z AS (
    SELECT ST_SetSRID(ST_Transform(f.geom, 4490), 4490) AS geom, ST_Transform(f.geom, 3857) AS geom_3857
    FROM onemap.features f
    JOIN onemap.layer_versions v ON v.id = f.version_id
    JOIN onemap.layers l ON l.key = v.layer_key
    WHERE l.id = :'zone_layer' AND f.props ->> 'name' = :'zone'
)
SELECT v.year, f.props ->> 'DLBM' AS class,
       sum(ST_Area(ST_Intersection(f.geom, z.geom)::geography)) AS area_m2
FROM z
JOIN onemap.features f ON f.version_id = ANY (ARRAY(
        SELECT v.id FROM onemap.layer_versions v JOIN onemap.layers l ON l.key = v.layer_key
        WHERE l.id = 'dltb'))
    AND f.geom_3857 && z.geom_3857 AND ST_Intersects(f.geom, z.geom)
JOIN onemap.layer_versions v ON v.id = f.version_id
JOIN onemap.layers l ON l.key = v.layer_key
WHERE l.id = 'dltb'
GROUP BY 1, 2
ORDER BY 1, 2;
