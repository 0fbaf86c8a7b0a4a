-- The Web-Mercator extent transformed back to EPSG:4326: exact, because longitude and latitude
-- map to x and y independently, and far cheaper than transforming every geometry again.
SELECT n,
       ST_XMin(e) AS west, ST_YMin(e) AS south, ST_XMax(e) AS east, ST_YMax(e) AS north
FROM (
    SELECT count(*) AS n,
           ST_Transform(ST_SetSRID(ST_Extent(geom_3857)::geometry, 3857), 4326) AS e
    FROM {table}
) s
