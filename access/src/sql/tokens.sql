SELECT t.id, u.name AS user_name, t.label,
       to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at,
       t.revoked_at IS NOT NULL AS revoked
FROM onemap.tokens t JOIN onemap.users u ON u.id = t.user_id
WHERE $1::text IS NULL OR u.name = $1
ORDER BY t.id
