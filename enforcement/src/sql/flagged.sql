-- The flagged pieces (segments.sql, every piece), each with a point inside it (lon/lat, and
-- easting/northing in EPSG:4543 for the grid), the station jurisdiction holding that point,
-- its village (the 12-digit village code of the to-parcel's ZLDWDM, named by the village point
-- carrying that code; without ZLDWDM the nearest village point) and its class in each survey
-- version of $10 (for the year the change appeared), largest first.
-- $1–$7 as in segments.sql ($5–$7 NULL), $8 station version (NULL: none), $9 village version
-- (NULL: none), $10 land-use versions from the first year to the second, oldest first,
-- $11 class field.
SELECT s.from_fid, s.to_fid, s.from_class, s.to_class, s.zone_fid, s.zone_name, s.zone_kind,
       s.trend, s.area_m2,
       ST_X(q.pt4326) AS lon, ST_Y(q.pt4326) AS lat,
       ST_X(q.pt4543) AS easting, ST_Y(q.pt4543) AS northing,
       st.name AS station, st.code AS station_code,
       coalesce(tp.code, vl.code) AS village_code,
       CASE WHEN tp.code IS NULL OR tp.code = vl.code THEN vl.name END AS village_name,
       hist.classes
FROM (
    -- segments.sql
    SEGMENTS
) s
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(s.geom) AS pt) p
CROSS JOIN LATERAL (
    SELECT ST_Transform(p.pt, 4326) AS pt4326, ST_Transform(p.pt, 4543) AS pt4543,
           ST_Transform(p.pt, 3857) AS pt3857
) q
LEFT JOIN LATERAL (
    SELECT coalesce(f.props ->> 'name', f.props ->> 'MC', f.fid::text) AS name,
           coalesce(f.props ->> 'station', f.props ->> 'department') AS code
    FROM onemap.features f
    WHERE $8::bigint IS NOT NULL AND f.version_id = $8 AND f.geom_3857 && q.pt3857
      AND ST_Intersects(f.geom, ST_Transform(q.pt4326, ST_SRID(f.geom)))
    ORDER BY f.fid
    LIMIT 1
) st ON true
LEFT JOIN LATERAL (
    SELECT nullif(left(f.props ->> 'ZLDWDM', 12), '') AS code
    FROM onemap.features f
    WHERE f.version_id = $2 AND f.fid = s.to_fid
) tp ON true
LEFT JOIN LATERAL (
    SELECT v.props ->> 'code' AS code, v.props ->> 'name' AS name
    FROM onemap.features v
    WHERE $9::bigint IS NOT NULL AND v.version_id = $9
    ORDER BY (v.props ->> 'code' IS NOT DISTINCT FROM tp.code) DESC, v.geom_3857 <-> q.pt3857
    LIMIT 1
) vl ON true
CROSS JOIN LATERAL (
    SELECT array_agg(coalesce(c.class, '') ORDER BY y.ord) AS classes
    FROM unnest($10::bigint[]) WITH ORDINALITY AS y(version_id, ord)
    LEFT JOIN LATERAL (
        SELECT f.props ->> $11::text AS class
        FROM onemap.features f
        WHERE f.version_id = y.version_id AND f.geom_3857 && q.pt3857
          AND ST_Intersects(f.geom, ST_Transform(q.pt4326, ST_SRID(f.geom)))
        LIMIT 1
    ) c ON true
) hist
WHERE s.flagged
ORDER BY s.area_m2 DESC, s.from_fid, s.to_fid, s.zone_fid
