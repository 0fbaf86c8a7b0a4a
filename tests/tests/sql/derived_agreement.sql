-- One version's stored geom_3857 and area_m2 against PostGIS computing them now with V1's
-- expressions (those of onemap.features_derive).
WITH d AS (
    SELECT geom_3857, area_m2,
           ST_Transform(
               ST_ClipByBox2D(
                   CASE WHEN ST_SRID(geom) = 4326 THEN geom ELSE ST_Transform(geom, 4326) END,
                   ST_MakeEnvelope(-180, -85.0511287798, 180, 85.0511287798, 4326)),
               3857) AS want_3857,
           CASE WHEN ST_Dimension(geom) = 2 THEN
               ST_Area(geography(CASE WHEN ST_SRID(geom) = 4326 THEN geom
                                      ELSE ST_Transform(geom, 4326) END))
           END AS want_area
    FROM onemap.features
    WHERE version_id = $1
)
SELECT count(*) AS rows,
       count(*) FILTER (WHERE geom_3857 IS NULL OR (want_area IS NOT NULL AND area_m2 IS NULL)) AS missing,
       max(abs(area_m2 - want_area) / nullif(want_area, 0)) AS area_rel,
       max(ST_HausdorffDistance(geom_3857, want_3857)) AS mercator_m,
       count(*) FILTER (WHERE GeometryType(geom_3857) <> GeometryType(want_3857)
                           OR ST_NPoints(geom_3857) <> ST_NPoints(want_3857)
                           OR ST_SRID(geom_3857) <> 3857) AS shape_differs,
       sum(area_m2) AS area_sum
FROM d
