-- The history of a clue: $1 clue, $2 action, $3 from, $4 to, $5 actor, $6 details, $7 audit seq.
INSERT INTO onemap.clue_events (clue, action, from_status, to_status, actor, details, audit_seq)
VALUES ($1, $2, $3, $4, $5, $6, $7)
