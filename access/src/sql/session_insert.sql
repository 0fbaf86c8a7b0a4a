-- A new session of enabled user $1 (name): $2 digest of the id, $3 digest of the CSRF token,
-- $4 client address. Returns the session's row id.
INSERT INTO onemap.sessions (user_id, session_sha256, csrf_sha256, client_addr)
SELECT u.id, $2::text, $3::text, $4::text FROM onemap.users u
WHERE u.name = $1::text AND NOT u.disabled
RETURNING id
