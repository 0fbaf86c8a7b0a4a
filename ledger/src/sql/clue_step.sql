-- One workflow step of clue $1 into status $2; each NULL field keeps its value.
-- $3 field notes, $4 verifier, $5 verification date, $6 measures, $7 deadline, $8 lead,
-- $9 responsible departments, $10 evidence, $11 rectification date, $12 signed off by,
-- $13 sign-off date (NULL: today, when closing).
UPDATE onemap.clues
SET status = $2,
    field_notes = coalesce($3, field_notes),
    verified_by = coalesce($4, verified_by),
    verified_on = coalesce($5::text::date, verified_on),
    measures = coalesce($6, measures),
    deadline = coalesce($7::text::date, deadline),
    lead_department = coalesce($8, lead_department),
    responsible_departments = coalesce($9::text[], responsible_departments),
    evidence = coalesce($10, evidence),
    rectified_on = coalesce($11::text::date, rectified_on),
    closed_by = coalesce($12, closed_by),
    closed_on = CASE WHEN $2 = 'closed' THEN coalesce($13::text::date, current_date)
                     ELSE closed_on END,
    updated_at = clock_timestamp()
WHERE id = $1
