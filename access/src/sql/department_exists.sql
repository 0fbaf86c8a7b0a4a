SELECT EXISTS (SELECT 1 FROM onemap.departments WHERE code = $1)
