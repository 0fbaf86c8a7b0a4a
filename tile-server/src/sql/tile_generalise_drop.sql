-- Removes version $1's generalisation (one built by an older method, before rebuilding).
WITH gone AS (DELETE FROM onemap.generalised_land_use WHERE version_id = $1::bigint)
DELETE FROM onemap.generalised_versions WHERE version_id = $1::bigint
