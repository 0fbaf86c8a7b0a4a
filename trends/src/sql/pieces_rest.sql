-- Overlay, second pass: the from-parcels that split, merged or moved are intersected with every
-- to-parcel they meet; a to-parcel wholly inside one keeps its stored area; pieces without area
-- (parcels that only touch) are dropped.
-- $1 from-version, $2 to-version, $3 from class field, $4 to class field, $5 to-version SRID.
INSERT INTO pg_temp.trend_pieces
SELECT s.from_fid, s.to_fid, s.from_class, s.to_class, s.geom, s.area_m2
FROM (
    SELECT a.fid AS from_fid, b.fid AS to_fid,
           coalesce(a.props ->> $3::text, '') AS from_class,
           coalesce(b.props ->> $4::text, '') AS to_class,
           i.geom,
           CASE WHEN i.whole THEN b.area_m2 ELSE onemap.geodesic_area(i.geom) END AS area_m2
    FROM onemap.features a
        -- Same SRID (the usual case): no transform at all.
    CROSS JOIN LATERAL (SELECT CASE WHEN ST_SRID(a.geom) = $5::int THEN a.geom
                                 ELSE ST_Transform(a.geom, $5::int) END AS geom) t
    JOIN onemap.features b
      ON b.version_id = $2 AND b.geom_3857 && a.geom_3857 AND ST_Intersects(t.geom, b.geom)
    CROSS JOIN LATERAL (
        SELECT w.whole,
               CASE WHEN w.whole THEN b.geom
                    ELSE ST_CollectionExtract(ST_Intersection(t.geom, b.geom), 3) END AS geom
        FROM (SELECT ST_Covers(t.geom, b.geom) AS whole) w
    ) i
    WHERE a.version_id = $1
      AND NOT EXISTS (SELECT 1 FROM pg_temp.trend_pieces p WHERE p.from_fid = a.fid)
) s
WHERE s.area_m2 > 0
