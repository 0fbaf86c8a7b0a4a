UPDATE onemap.users SET disabled = $2, updated_at = clock_timestamp() WHERE name = $1
