-- The layer row is the lock that serialises publications of one layer.
SELECT key, department, geometry_type
FROM onemap.layers
WHERE id = $1
FOR UPDATE
