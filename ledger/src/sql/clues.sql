-- Clues of the ledger with every field, oldest first; each filter NULL = any.
-- $1 id, $2 status, $3 department (lead or responsible), $4 station, $5 overdue, $6 source.
-- Overdue: rectifying past its deadline.
SELECT c.id, c.clue_id, c.source, c.batch, c.detected_on::text AS detected_on, c.activity,
       c.status, c.area_m2, ST_X(p.pt) AS lon, ST_Y(p.pt) AS lat,
       ST_AsGeoJSON(c.geom, 7)::jsonb AS geometry, c.props,
       c.zones, c.in_reserve, c.station, c.station_name, c.village_code, c.village_name,
       c.land_classes, c.change_parcels, c.suggested_lead, c.suggested_responsible,
       c.lead_department, c.responsible_departments, c.field_notes, c.verified_by,
       c.verified_on::text AS verified_on, c.measures, c.deadline::text AS deadline,
       c.evidence, c.rectified_on::text AS rectified_on, c.closed_by,
       c.closed_on::text AS closed_on,
       (c.status = 'rectifying' AND c.deadline < current_date) AS overdue,
       ARRAY(SELECT ph.id FROM onemap.clue_photos ph WHERE ph.clue = c.id ORDER BY ph.id)
         AS photo_ids
FROM onemap.clues c
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(c.geom) AS pt) p
WHERE ($1::bigint IS NULL OR c.id = $1)
  AND ($2::text IS NULL OR c.status = $2)
  AND ($3::text IS NULL OR c.lead_department = $3 OR $3 = ANY(c.responsible_departments))
  AND ($4::text IS NULL OR c.station = $4)
  AND ($5::boolean IS NULL OR (c.status = 'rectifying' AND c.deadline < current_date) = $5)
  AND ($6::text IS NULL OR c.source = $6)
ORDER BY c.detected_on, c.id
