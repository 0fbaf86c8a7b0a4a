-- Under the staging lock: whether the table is still an unattached staging table (its loader
-- may have attached it between the listing and the lock).
SELECT EXISTS (
    SELECT 1
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'onemap'
      AND c.relname = $1
      AND NOT c.relispartition
      AND obj_description(c.oid, 'pg_class') = 'onemap ingest staging'
)
