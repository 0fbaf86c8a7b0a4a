-- Staging tables (marked by staging_hide.sql) that are not attached: either being loaded (their
-- loader holds the lock, staging_lock.sql) or left behind by a loader that died.
SELECT c.relname::text AS name,
       substring(c.relname FROM '^features_v([0-9]+)$')::bigint AS version_id
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'onemap'
  AND c.relkind = 'r'
  AND NOT c.relispartition
  AND c.relname ~ '^features_v[0-9]+$'
  AND obj_description(c.oid, 'pg_class') = 'onemap ingest staging'
ORDER BY 2
