-- The change parcels between two versions, clipped to the zone (zones unioned and brought into
-- the pieces' SRID once; a piece wholly inside keeps its stored area), largest first. At level 1
-- a piece whose first-level class did not change is not a change.
-- $1 from-version, $2 to-version, $3 zone version (NULL: the whole extent), $4 zone keys,
-- $5 level, $6 SRID of the to-version.
WITH zone AS MATERIALIZED (
    SELECT ST_Union(ST_Transform(geom, $6::int)) AS geom
    FROM onemap.features
    WHERE $3::bigint IS NOT NULL AND version_id = $3 AND fid::text = ANY($4::text[])
      AND ST_Dimension(geom) = 2
)
SELECT s.from_fid, s.to_fid, s.from_class, s.to_class, s.area_m2,
       ST_AsGeoJSON(ST_Transform(s.geom, 4326), 7) AS geojson,
       ST_AsText(ST_Transform(s.geom, 4326), 7) AS wkt
FROM (
    SELECT c.from_fid, c.to_fid,
           CASE WHEN $5::int = 1 THEN left(c.from_class, 2) ELSE c.from_class END AS from_class,
           CASE WHEN $5::int = 1 THEN left(c.to_class, 2) ELSE c.to_class END AS to_class,
           p.geom,
           CASE WHEN w.whole THEN c.area_m2 ELSE onemap.geodesic_area(p.geom) END AS area_m2
    FROM zone z
    JOIN onemap.change_parcels c
      ON c.from_version = $1 AND c.to_version = $2
     AND ($3::bigint IS NULL OR (c.geom && z.geom AND ST_Intersects(z.geom, c.geom)))
    CROSS JOIN LATERAL (SELECT $3::bigint IS NULL OR ST_Covers(z.geom, c.geom) AS whole) w
    CROSS JOIN LATERAL (
        SELECT CASE WHEN w.whole THEN c.geom
                    ELSE ST_CollectionExtract(ST_Intersection(z.geom, c.geom), 3) END AS geom
    ) p
) s
WHERE s.area_m2 > 0 AND s.from_class <> s.to_class
ORDER BY s.area_m2 DESC, s.from_fid, s.to_fid
