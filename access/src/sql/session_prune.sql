-- Deletes the sessions that can no longer be used: ended (rows of older releases), of a
-- disabled user, idle for more than $1 seconds or older than $2 seconds. Returns how many.
WITH gone AS (
    DELETE FROM onemap.sessions s
    USING onemap.users u
    WHERE u.id = s.user_id
      AND (s.ended_at IS NOT NULL OR u.disabled
           OR s.last_seen_at < clock_timestamp() - make_interval(secs => $1::float8)
           OR s.created_at < clock_timestamp() - make_interval(secs => $2::float8))
    RETURNING 1
)
SELECT count(*) FROM gone
