-- One layer version's features in tile z=$1, x=$2, y=$3; $4 is a JSON object with the layer id and version id.
-- Features are selected with the envelope grown by the buffer, so that shapes crossing the
-- edge are clipped into the buffer rather than cut at it.
SELECT ST_AsMVT(t, $4::json ->> 'layer', {extent}, 'geom', 'fid')
FROM (
    SELECT f.fid, f.props{area},
           ST_AsMVTGeom(f.geom_3857, ST_TileEnvelope($1::int, $2::int, $3::int),
                        {extent}, {buffer}, true) AS geom
    FROM onemap.features f
    WHERE f.version_id = ($4::json ->> 'version')::bigint
      AND f.geom_3857 && ST_TileEnvelope($1::int, $2::int, $3::int, margin => {margin})
) t
WHERE t.geom IS NOT NULL
