-- Ends (deletes) the session whose id digests to $1; returns its row id and user name when it
-- existed.
DELETE FROM onemap.sessions s
USING onemap.users u
WHERE s.session_sha256 = $1::text AND u.id = s.user_id
RETURNING s.id, u.name AS user_name
