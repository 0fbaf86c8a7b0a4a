INSERT INTO onemap.layers (id, title_zh, title_en, department, theme, geometry_type, class_field)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (id) DO NOTHING
RETURNING key
