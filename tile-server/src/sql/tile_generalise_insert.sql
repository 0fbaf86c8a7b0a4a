-- One zoom ($2) of version $1's mosaic: per tile and class ($3), its cells and runs ($4: WKB
-- MultiPolygons of rectangles on the tile-unit grid, so neighbours share exact edges),
-- dissolved into one shape; the simplification at tolerance 0 only drops the vertices left
-- on straight edges by the dissolve.
INSERT INTO onemap.generalised_land_use (version_id, zoom, class, geom_3857)
SELECT $1::bigint, $2::int, t.class,
       ST_SimplifyPreserveTopology(ST_UnaryUnion(ST_GeomFromWKB(t.wkb, 3857)), 0)
FROM unnest($3::text[], $4::bytea[]) AS t (class, wkb)
