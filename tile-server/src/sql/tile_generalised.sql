-- A generalised land-use tile: z=$1, x=$2, y=$3 of version $4, as MVT layer $5 whose features
-- carry one property, the class, under the layer's class field name $6.
SELECT ST_AsMVT(t, $5::text, {extent}, 'geom')
FROM (
    SELECT jsonb_build_object($6::text, g.class) AS props,
           ST_AsMVTGeom(g.geom_3857, ST_TileEnvelope($1::int, $2::int, $3::int),
                        {extent}, {buffer}, true) AS geom
    FROM onemap.generalised_land_use g
    WHERE g.version_id = $4::bigint AND g.zoom = $1::int
      AND g.geom_3857 && ST_TileEnvelope($1::int, $2::int, $3::int, margin => {margin})
) t
WHERE t.geom IS NOT NULL
