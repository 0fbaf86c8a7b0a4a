SELECT EXISTS (SELECT 1 FROM onemap.themes WHERE code = $1)
