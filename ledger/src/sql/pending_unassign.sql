-- The pending clues lose their departments (they only ever had the suggestion), so that
-- sql/assign.sql gives them the new suggestion. Returns their ids.
UPDATE onemap.clues
SET lead_department = NULL, responsible_departments = '{}', updated_at = clock_timestamp()
WHERE status = 'pending'
RETURNING id
