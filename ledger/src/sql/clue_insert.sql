-- One imported clue; nothing when the same clue id of the same source level is already there.
-- $1 clue id, $2 source, $3 batch, $4 detection date (YYYY-MM-DD), $5 activity,
-- $6 GeoJSON geometry (lon/lat), $7 the feed's other attributes, $8 importer.
INSERT INTO onemap.clues (clue_id, source, batch, detected_on, activity, geom, props, imported_by)
SELECT $1, $2, $3, $4::text::date, $5,
       CASE WHEN ST_IsValid(g) THEN g ELSE ST_CollectionExtract(ST_MakeValid(g), 3) END,
       $7, $8
FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON($6::text), 4326) AS g) s
ON CONFLICT (clue_id, source) DO NOTHING
RETURNING id
