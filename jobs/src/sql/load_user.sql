SELECT id, name, department, role FROM onemap.users WHERE id = $1 AND NOT disabled
