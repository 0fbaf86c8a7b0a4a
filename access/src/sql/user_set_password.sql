UPDATE onemap.users SET password_hash = $2, updated_at = clock_timestamp() WHERE name = $1
