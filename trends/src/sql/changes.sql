-- The change parcels between two versions, clipped to the zone (a zoning layer's zones unioned,
-- or an ad-hoc zone, brought into the pieces' SRID once; a piece wholly inside keeps its stored
-- area), largest first, each with the reserve zone, station jurisdiction and village of a point
-- inside it. At level 1 a piece whose first-level class did not change is not a change.
-- $1 from-version, $2 to-version, $3 zone version (NULL: no zoning layer), $4 zone keys,
-- $5 level, $6 SRID of the to-version, $7 ad-hoc zone (EWKB, NULL: none; with neither $3 nor $7
-- the whole extent), $8 reserve-zone version, $9 station-jurisdiction version, $10 village
-- version (each NULL: not looked up), $11 whether to return WKB (in SRID $6) and the bounds.
WITH zone AS MATERIALIZED (
    SELECT CASE WHEN $7::bytea IS NOT NULL
                THEN ST_Transform(ST_GeomFromEWKB($7::bytea), $6::int)
                ELSE (SELECT ST_Union(ST_Transform(geom, $6::int))
                      FROM onemap.features
                      WHERE $3::bigint IS NOT NULL AND version_id = $3
                        AND fid::text = ANY($4::text[]) AND ST_Dimension(geom) = 2) END AS geom,
           $3::bigint IS NULL AND $7::bytea IS NULL AS everywhere
)
SELECT s.from_fid, s.to_fid, s.from_class, s.to_class, s.area_m2,
       ST_AsGeoJSON(ST_Transform(s.geom, 4326), 7) AS geojson,
       ST_AsText(ST_Transform(s.geom, 4326), 7) AS wkt,
       CASE WHEN $11::bool THEN ST_AsBinary(ST_Multi(s.geom), 'NDR') END AS wkb,
       ST_XMin(s.geom) AS min_x, ST_YMin(s.geom) AS min_y,
       ST_XMax(s.geom) AS max_x, ST_YMax(s.geom) AS max_y,
       zn.name AS zone,
       CASE WHEN $8::bigint IS NULL THEN NULL WHEN zn.name IS NULL THEN 'outside'
            ELSE zn.kind END AS zone_kind,
       st.name AS station, st.code AS station_code,
       coalesce(tp.code, vl.code) AS village_code,
       CASE WHEN tp.code IS NULL OR tp.code = vl.code THEN vl.name END AS village_name
FROM (
    SELECT k.*, ST_PointOnSurface(k.geom) AS pt
    FROM (
        SELECT c.from_fid, c.to_fid,
               CASE WHEN $5::int = 1 THEN left(c.from_class, 2) ELSE c.from_class END
                   AS from_class,
               CASE WHEN $5::int = 1 THEN left(c.to_class, 2) ELSE c.to_class END AS to_class,
               p.geom,
               CASE WHEN w.whole THEN c.area_m2 ELSE onemap.geodesic_area(p.geom) END AS area_m2
        FROM zone z
        JOIN onemap.change_parcels c
          ON c.from_version = $1 AND c.to_version = $2
         AND (z.everywhere OR (c.geom && z.geom AND ST_Intersects(z.geom, c.geom)))
        CROSS JOIN LATERAL (SELECT z.everywhere OR ST_Covers(z.geom, c.geom) AS whole) w
        CROSS JOIN LATERAL (
            SELECT CASE WHEN w.whole THEN c.geom
                        ELSE ST_CollectionExtract(ST_Intersection(z.geom, c.geom), 3) END AS geom
        ) p
        -- Each piece clipped once, here: without the fence the planner copies the clipping
        -- into every lookup below that reads the piece.
        OFFSET 0
    ) k
    -- Clipped to an ad-hoc zone, pieces under 0.01 m² are slivers (see area_adhoc.sql).
    WHERE k.area_m2 > CASE WHEN $7::bytea IS NULL THEN 0 ELSE 0.01 END
      AND k.from_class <> k.to_class
    OFFSET 0
) s
CROSS JOIN LATERAL (
    SELECT ST_Transform(s.pt, 4326) AS pt4326, ST_Transform(s.pt, 3857) AS pt3857
) q
-- The reserve zone holding the point: its name, and its kind from its `zone` attribute or its
-- name (as enforcement/src/sql/segments.sql reads them).
LEFT JOIN LATERAL (
    SELECT coalesce(f.props ->> 'name', f.props ->> 'MC', f.fid::text) AS name,
           CASE WHEN lower(f.props ->> 'zone') IN ('core', 'buffer', 'experimental')
                     THEN lower(f.props ->> 'zone')
                WHEN f.props ->> 'name' = '核心区' THEN 'core'
                WHEN f.props ->> 'name' = '缓冲区' THEN 'buffer'
                WHEN f.props ->> 'name' = '实验区' THEN 'experimental' END AS kind
    FROM onemap.features f
    WHERE $8::bigint IS NOT NULL AND f.version_id = $8 AND f.geom_3857 && q.pt3857
      AND ST_Dimension(f.geom) = 2
      AND ST_Intersects(f.geom, ST_Transform(q.pt4326, ST_SRID(f.geom)))
    ORDER BY f.fid
    LIMIT 1
) zn ON true
LEFT JOIN LATERAL (
    SELECT coalesce(f.props ->> 'name', f.props ->> 'MC', f.fid::text) AS name,
           coalesce(f.props ->> 'station', f.props ->> 'department') AS code
    FROM onemap.features f
    WHERE $9::bigint IS NOT NULL AND f.version_id = $9 AND f.geom_3857 && q.pt3857
      AND ST_Intersects(f.geom, ST_Transform(q.pt4326, ST_SRID(f.geom)))
    ORDER BY f.fid
    LIMIT 1
) st ON true
-- The village: the 12-digit village code of the to-parcel's ZLDWDM, named by the village point
-- carrying that code; without ZLDWDM the nearest village point.
LEFT JOIN LATERAL (
    SELECT nullif(left(f.props ->> 'ZLDWDM', 12), '') AS code
    FROM onemap.features f
    WHERE f.version_id = $2 AND f.fid = s.to_fid
) tp ON true
LEFT JOIN LATERAL (
    SELECT v.props ->> 'code' AS code, v.props ->> 'name' AS name
    FROM onemap.features v
    WHERE $10::bigint IS NOT NULL AND v.version_id = $10
    ORDER BY (v.props ->> 'code' IS NOT DISTINCT FROM tp.code) DESC, v.geom_3857 <-> q.pt3857
    LIMIT 1
) vl ON true
ORDER BY s.area_m2 DESC, s.from_fid, s.to_fid
