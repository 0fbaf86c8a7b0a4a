-- Enriches the clues $1 from the newest versions of the reserve zones $2, the station
-- jurisdictions $3 and the village points $4, and from every survey year of the land-use
-- layer $5 and its change parcels: the zones it touches (kind from the `zone` attribute or
-- the name 核心区/缓冲区/实验区), the station whose jurisdiction holds most of it (the
-- `station` attribute is the station's department code), the nearest village point, the
-- land class covering most of it in each survey year, and the change parcels it overlaps.
-- A layer that does not exist leaves its fields empty.
WITH newest AS (
    SELECT DISTINCT ON (l.id) l.id AS layer, v.id AS version_id
    FROM onemap.layers l
    JOIN onemap.layer_versions v ON v.layer_key = l.key
    WHERE l.id IN ($2::text, $3::text, $4::text)
    ORDER BY l.id, v.year DESC NULLS LAST, v.ingested_at DESC, v.id DESC
),
landuse AS (
    SELECT DISTINCT ON (v.year) v.id AS version_id, v.year, l.class_field
    FROM onemap.layers l
    JOIN onemap.layer_versions v ON v.layer_key = l.key
    WHERE l.id = $5::text AND v.year IS NOT NULL AND l.class_field IS NOT NULL
    ORDER BY v.year, v.ingested_at DESC, v.id DESC
),
e AS (
    SELECT c.id, z.zones, st.code AS station, st.name AS station_name,
           vl.code AS village_code, vl.name AS village_name, lc.classes, cp.parcels
    FROM onemap.clues c
    CROSS JOIN LATERAL (SELECT ST_Transform(c.geom, 3857) AS g3857) q
    CROSS JOIN LATERAL (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'name', coalesce(f.props ->> 'name', f.props ->> 'MC', f.fid::text),
                   'kind', CASE WHEN lower(f.props ->> 'zone') IN ('core', 'buffer', 'experimental')
                                     THEN lower(f.props ->> 'zone')
                                WHEN f.props ->> 'name' = '核心区' THEN 'core'
                                WHEN f.props ->> 'name' = '缓冲区' THEN 'buffer'
                                WHEN f.props ->> 'name' = '实验区' THEN 'experimental' END)
                   ORDER BY f.fid), '[]'::jsonb) AS zones
        FROM onemap.features f
        WHERE f.version_id = (SELECT version_id FROM newest WHERE layer = $2::text)
          AND f.geom_3857 && q.g3857
          AND ST_Intersects(f.geom, ST_Transform(c.geom, ST_SRID(f.geom)))
    ) z
    LEFT JOIN LATERAL (
        SELECT coalesce(f.props ->> 'station', f.props ->> 'department') AS code,
               coalesce(f.props ->> 'name', f.props ->> 'MC', f.fid::text) AS name
        FROM onemap.features f
        WHERE f.version_id = (SELECT version_id FROM newest WHERE layer = $3::text)
          AND f.geom_3857 && q.g3857
          AND ST_Intersects(f.geom, ST_Transform(c.geom, ST_SRID(f.geom)))
        ORDER BY onemap.geodesic_area(ST_Intersection(f.geom, ST_Transform(c.geom, ST_SRID(f.geom)))) DESC,
                 f.fid
        LIMIT 1
    ) st ON true
    LEFT JOIN LATERAL (
        SELECT v.props ->> 'code' AS code, coalesce(v.props ->> 'name', v.props ->> 'MC') AS name
        FROM onemap.features v
        WHERE v.version_id = (SELECT version_id FROM newest WHERE layer = $4::text)
        ORDER BY v.geom_3857 <-> q.g3857
        LIMIT 1
    ) vl ON true
    CROSS JOIN LATERAL (
        SELECT coalesce(jsonb_agg(jsonb_build_object('year', y.year, 'class', k.class)
                                  ORDER BY y.year), '[]'::jsonb) AS classes
        FROM landuse y
        LEFT JOIN LATERAL (
            SELECT f.props ->> y.class_field AS class
            FROM onemap.features f
            WHERE f.version_id = y.version_id AND f.geom_3857 && q.g3857
              AND ST_Intersects(f.geom, ST_Transform(c.geom, ST_SRID(f.geom)))
            ORDER BY onemap.geodesic_area(ST_Intersection(f.geom, ST_Transform(c.geom, ST_SRID(f.geom)))) DESC,
                     f.fid
            LIMIT 1
        ) k ON true
    ) lc
    CROSS JOIN LATERAL (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'from_year', fv.year, 'to_year', tv.year,
                   'from_class', p.from_class, 'to_class', p.to_class,
                   'area_m2', round(p.area_m2::numeric, 1))
                   ORDER BY fv.year, tv.year, p.area_m2 DESC), '[]'::jsonb) AS parcels
        FROM onemap.change_parcels p
        JOIN landuse tv ON tv.version_id = p.to_version
        JOIN onemap.layer_versions fv ON fv.id = p.from_version
        WHERE p.geom && ST_Transform(c.geom, ST_SRID(p.geom))
          AND ST_Intersects(p.geom, ST_Transform(c.geom, ST_SRID(p.geom)))
    ) cp
    WHERE c.id = ANY($1::bigint[])
)
UPDATE onemap.clues c
SET zones = e.zones, in_reserve = jsonb_array_length(e.zones) > 0, station = e.station,
    station_name = e.station_name, village_code = e.village_code, village_name = e.village_name,
    land_classes = e.classes, change_parcels = e.parcels
FROM e
WHERE c.id = e.id
