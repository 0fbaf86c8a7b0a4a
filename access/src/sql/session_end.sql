-- Ends the session whose id digests to $1; returns its row id and user name when it was open.
UPDATE onemap.sessions s SET ended_at = clock_timestamp()
FROM onemap.users u
WHERE s.session_sha256 = $1::text AND s.ended_at IS NULL AND u.id = s.user_id
RETURNING s.id, u.name AS user_name
