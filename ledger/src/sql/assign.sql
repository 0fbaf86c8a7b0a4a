-- Suggests the lead and responsible departments of the clues $1 from
-- onemap.clue_assignment_rules (see schemas/migrations/V10__ledger.sql): `station` is the
-- clue's station; codes that are no department (a clue outside every jurisdiction) are skipped.
-- A clue not yet assigned takes the suggestion as its assignment.
WITH m AS (
    SELECT c.id, r.id AS rule_id, r.activity,
           CASE WHEN r.lead = 'station' THEN c.station ELSE r.lead END AS lead,
           ARRAY(SELECT CASE WHEN x = 'station' THEN c.station ELSE x END
                 FROM unnest(r.responsible) AS x) AS responsible
    FROM onemap.clues c
    JOIN onemap.clue_assignment_rules r
      ON (r.activity = '*' OR r.activity = c.activity) AND (NOT r.in_reserve_only OR c.in_reserve)
    WHERE c.id = ANY($1::bigint[])
),
lead AS (
    SELECT DISTINCT ON (m.id) m.id, m.lead
    FROM m
    JOIN onemap.departments d ON d.code = m.lead
    ORDER BY m.id, m.activity = '*', m.rule_id
),
resp AS (
    SELECT m.id, array_agg(DISTINCT x.code ORDER BY x.code) AS responsible
    FROM m
    CROSS JOIN LATERAL unnest(m.responsible) AS x(code)
    JOIN onemap.departments d ON d.code = x.code
    LEFT JOIN lead ON lead.id = m.id
    WHERE x.code IS DISTINCT FROM lead.lead
    GROUP BY m.id
),
s AS (
    SELECT ids.id, lead.lead, coalesce(resp.responsible, '{}') AS responsible
    FROM unnest($1::bigint[]) AS ids(id)
    LEFT JOIN lead ON lead.id = ids.id
    LEFT JOIN resp ON resp.id = ids.id
)
UPDATE onemap.clues c
SET suggested_lead = s.lead, suggested_responsible = s.responsible,
    lead_department = coalesce(c.lead_department, s.lead),
    responsible_departments = CASE WHEN c.lead_department IS NULL THEN s.responsible
                                   ELSE c.responsible_departments END
FROM s
WHERE c.id = s.id
