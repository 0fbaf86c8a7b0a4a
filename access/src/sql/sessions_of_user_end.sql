-- Ends (deletes) every session of user $1 (name); returns how many there were.
WITH gone AS (
    DELETE FROM onemap.sessions s
    USING onemap.users u
    WHERE u.id = s.user_id AND u.name = $1::text
    RETURNING 1
)
SELECT count(*) FROM gone
