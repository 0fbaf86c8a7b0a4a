SELECT u.id, u.name, u.department, u.role
FROM onemap.tokens t JOIN onemap.users u ON u.id = t.user_id
WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL AND NOT u.disabled
