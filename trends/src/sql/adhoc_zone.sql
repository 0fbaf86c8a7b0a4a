-- An ad-hoc zone sent with a request: its polygons (GeoJSON geometries, already checked for
-- shape and coordinate ranges by the caller) repaired where invalid, unioned, and measured.
-- $1 GeoJSON Polygon geometries, $2 their SRID (4326 or 4490).
WITH g AS (
    SELECT ord, ST_SetSRID(ST_GeomFromGeoJSON(j), $2::int) AS geom
    FROM unnest($1::text[]) WITH ORDINALITY AS t(j, ord)
),
u AS (
    SELECT string_agg('polygon ' || ord || ': ' || ST_IsValidReason(geom), '; ' ORDER BY ord)
               FILTER (WHERE NOT ST_IsValid(geom)) AS repaired,
           ST_Union(ST_CollectionExtract(ST_MakeValid(geom), 3)) AS geom
    FROM g
)
SELECT u.repaired, ST_AsEWKB(ST_Multi(u.geom)) AS ewkb, onemap.geodesic_area(u.geom) AS area_m2
FROM u
