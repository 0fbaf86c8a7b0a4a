-- The suggested-department rules, in the order they were made.
SELECT id, activity, in_reserve_only, lead, responsible, note
FROM onemap.clue_assignment_rules
ORDER BY id
