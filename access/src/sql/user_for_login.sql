SELECT id, name, department, role, password_hash FROM onemap.users
WHERE name = $1 AND NOT disabled
