INSERT INTO onemap.users (name, department, role, password_hash)
VALUES ($1, $2, $3, $4)
ON CONFLICT (name) DO NOTHING
RETURNING id, name, department, role
