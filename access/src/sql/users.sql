SELECT u.id, u.name, u.department, u.role, u.disabled,
       u.password_hash IS NOT NULL AS has_password,
       (SELECT count(*) FROM onemap.tokens t
        WHERE t.user_id = u.id AND t.revoked_at IS NULL) AS active_tokens,
       to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at
FROM onemap.users u
ORDER BY u.name
