-- One zoom of a land-use version's generalisation: $1 version id, $2 zoom, $3 the layer's
-- class field, $4 the deepest generalised zoom. The deepest zoom is built from the parcels,
-- each shallower one from the zoom below it (already dissolved, so far smaller). Parcels are
-- dissolved by class within cells one tile wide (a cell is chosen by a point on the shape, so
-- every shape is counted once), on a grid of the zoom's tile unit (1/4096 of a tile), then
-- simplified to that unit: areas stay what they were, shared edges of a class disappear.
INSERT INTO onemap.generalised_land_use (version_id, zoom, class, geom_3857)
SELECT $1::bigint, $2::int, d.class, d.geom
FROM (
    SELECT s.class,
           ST_SimplifyPreserveTopology(ST_Union(s.geom, u.unit), u.unit) AS geom
    FROM (SELECT 40075016.685578488 / (4096 * 2 ^ $2::int) AS unit,
                 40075016.685578488 / 2 ^ $2::int AS cell) u
    CROSS JOIN LATERAL (
        SELECT coalesce(f.props ->> $3::text, '') AS class, f.geom_3857 AS geom
        FROM onemap.features f
        WHERE f.version_id = $1::bigint AND $2::int = $4::int
          AND ST_Dimension(f.geom_3857) = 2
        UNION ALL
        SELECT g.class, (ST_Dump(g.geom_3857)).geom
        FROM onemap.generalised_land_use g
        WHERE g.version_id = $1::bigint AND g.zoom = $2::int + 1 AND $2::int < $4::int
    ) s
    GROUP BY s.class, u.unit,
             floor(ST_X(ST_PointOnSurface(s.geom)) / u.cell),
             floor(ST_Y(ST_PointOnSurface(s.geom)) / u.cell)
) d
WHERE NOT ST_IsEmpty(d.geom)
