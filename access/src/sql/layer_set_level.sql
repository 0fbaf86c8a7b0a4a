UPDATE onemap.layers SET access_level = $2 WHERE key = $1
