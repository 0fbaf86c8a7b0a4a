SELECT l.key, l.id, l.title_zh, l.title_en, l.department,
       d.name_zh AS department_name_zh, d.name_en AS department_name_en,
       l.theme, t.name_zh AS theme_name_zh, t.name_en AS theme_name_en,
       l.geometry_type, l.access_level, l.class_field,
       ARRAY(SELECT s.department FROM onemap.layer_shares s
             WHERE s.layer_key = l.key ORDER BY s.department) AS shared_with
FROM onemap.layers l
JOIN onemap.departments d ON d.code = l.department
JOIN onemap.themes t ON t.code = l.theme
ORDER BY t.sort_order, l.id
