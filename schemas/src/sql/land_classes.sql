SELECT code, name_zh, name_en, level, parent, color, working
FROM onemap.land_classes
ORDER BY level, code
