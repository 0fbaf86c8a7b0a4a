-- The land of version $1 by class ($3: the layer's class field) in the cells of the mosaics'
-- finest grid ($2: a cell's side in Web-Mercator metres; see mosaic.rs): `col` counts cells
-- east from the antimeridian, `row` south from the north edge; areas in Web-Mercator m², which
-- is what a tile draws. A parcel no bigger than a cell counts whole in the cell of its bounding
-- box's centre; a bigger one is cut along the grid, so that large parcels spread as they lie.
-- Ordered, so that the same land always gives the same mosaic.
WITH p AS (
    SELECT coalesce(f.props ->> $3::text, '') AS class, f.geom_3857 AS g,
           ST_XMax(f.geom_3857) - ST_XMin(f.geom_3857) <= $2::float8
           AND ST_YMax(f.geom_3857) - ST_YMin(f.geom_3857) <= $2::float8 AS small
    FROM onemap.features f
    WHERE f.version_id = $1::bigint AND ST_Dimension(f.geom_3857) = 2
), pieces AS (
    SELECT class, (ST_XMin(g) + ST_XMax(g)) / 2 AS x, (ST_YMin(g) + ST_YMax(g)) / 2 AS y,
           ST_Area(g) AS area
    FROM p
    WHERE small
    UNION ALL
    SELECT p.class, (ST_XMin(s.geom) + ST_XMax(s.geom)) / 2, (ST_YMin(s.geom) + ST_YMax(s.geom)) / 2,
           ST_Area(ST_ClipByBox2D(p.g, s.geom))
    FROM p
    CROSS JOIN LATERAL ST_SquareGrid($2::float8, p.g) s
    WHERE NOT p.small AND s.geom && p.g
)
SELECT floor((x + 20037508.342789244) / $2::float8)::bigint AS col,
       floor((20037508.342789244 - y) / $2::float8)::bigint AS row_,
       class, sum(area)::float8 AS area
FROM pieces
WHERE area > 0
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
