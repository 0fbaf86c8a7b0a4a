INSERT INTO onemap.themes (code, name_zh, name_en, sort_order)
VALUES ($1, $2, $3, $4)
ON CONFLICT (code) DO UPDATE
SET name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en, sort_order = EXCLUDED.sort_order
