-- Inserts nothing for an unknown department (the caller reports it).
INSERT INTO onemap.layer_shares (layer_key, department)
SELECT $1, code FROM onemap.departments WHERE code = $2
