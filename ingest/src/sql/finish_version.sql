UPDATE onemap.layer_versions SET feature_count = $2, bbox = $3 WHERE id = $1
