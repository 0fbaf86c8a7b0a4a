-- Land-use parcels at the zooms just past the generalised ones: z=$1, x=$2, y=$3 of version $4
-- as MVT layer $5. Each parcel keeps its id, its class (under the layer's class field name $6)
-- and its geodesic area rounded to the square metre, nothing else: a dense z12 tile of a
-- 1 000 000-parcel survey year holds about 10 000 parcels, over 1 MB with every attribute and
-- about 300 KB like this. The full attributes come from the next zoom on.
SELECT ST_AsMVT(t, $5::text, {extent}, 'geom', 'fid')
FROM (
    SELECT f.fid,
           jsonb_build_object($6::text, f.props -> $6::text, 'area_m2', round(f.area_m2)) AS props,
           ST_AsMVTGeom(f.geom_3857, ST_TileEnvelope($1::int, $2::int, $3::int),
                        {extent}, {buffer}, true) AS geom
    FROM onemap.features f
    WHERE f.version_id = $4::bigint
      AND f.geom_3857 && ST_TileEnvelope($1::int, $2::int, $3::int, margin => {margin})
) t
WHERE t.geom IS NOT NULL
