-- The clue $1 about to take a workflow step, locked until the step commits.
SELECT id, clue_id, source, status, lead_department, responsible_departments
FROM onemap.clues
WHERE id = $1
FOR UPDATE
