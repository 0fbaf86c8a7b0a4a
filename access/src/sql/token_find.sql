SELECT t.id, u.name AS user_name
FROM onemap.tokens t JOIN onemap.users u ON u.id = t.user_id
WHERE t.id = $1 OR t.token_sha256 = $2
