INSERT INTO onemap.tokens (user_id, token_sha256, label)
SELECT u.id, $2, $3 FROM onemap.users u WHERE u.name = $1 AND NOT u.disabled
RETURNING id
