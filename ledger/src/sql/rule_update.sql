-- Rule $1 changed: $2 activity, $3 in reserve only, $4 lead, $5 responsible, $6 note.
UPDATE onemap.clue_assignment_rules
SET activity = $2, in_reserve_only = $3, lead = $4, responsible = $5, note = $6
WHERE id = $1
