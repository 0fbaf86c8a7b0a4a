-- The workflow steps of clue $1, oldest first.
SELECT action, from_status, to_status, actor,
       to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at, details, audit_seq
FROM onemap.clue_events
WHERE clue = $1
ORDER BY id
