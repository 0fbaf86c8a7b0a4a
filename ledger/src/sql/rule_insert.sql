-- A new rule: $1 activity, $2 in reserve only, $3 lead, $4 responsible, $5 note.
INSERT INTO onemap.clue_assignment_rules (activity, in_reserve_only, lead, responsible, note)
VALUES ($1, $2, $3, $4, $5)
