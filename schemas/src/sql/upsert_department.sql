INSERT INTO onemap.departments (code, name_zh, name_en, kind)
VALUES ($1, $2, $3, $4)
ON CONFLICT (code) DO UPDATE
SET name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en, kind = EXCLUDED.kind
