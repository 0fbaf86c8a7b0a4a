-- Adds or changes the rule for one transition pattern. $1 from, $2 to, $3 trend,
-- $4 prohibited zone kinds, $5 note.
INSERT INTO onemap.transition_rules (from_class, to_class, trend, prohibited_in, note)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (from_class, to_class)
DO UPDATE SET trend = excluded.trend, prohibited_in = excluded.prohibited_in, note = excluded.note
