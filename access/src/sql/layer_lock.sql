-- Serialises access changes and publications of one layer.
SELECT 1 FROM onemap.layers WHERE id = $1 FOR UPDATE
