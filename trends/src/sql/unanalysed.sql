-- The partitions of onemap.features (named features_v{id} by ingest) among $1 that have no
-- column statistics yet: a precompute right after ingest, before autovacuum, would be
-- planned blind.
SELECT c.relname
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'onemap.features'::regclass
  AND c.relname = ANY($1::text[])
  AND NOT EXISTS (SELECT 1 FROM pg_stats s
                  WHERE s.schemaname = 'onemap' AND s.tablename = c.relname)
