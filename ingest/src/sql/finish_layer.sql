-- A new layer's shape is known only once its features are read.
UPDATE onemap.layers SET geometry_type = $2, theme = $3, class_field = $4 WHERE key = $1
