INSERT INTO onemap.land_classes (code, name_zh, name_en, level, parent, color, working)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (code) DO UPDATE
SET name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en, level = EXCLUDED.level,
    parent = EXCLUDED.parent, color = EXCLUDED.color, working = EXCLUDED.working
