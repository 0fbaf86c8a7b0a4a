-- Settings of the connections that load a staging table (parallel COPY). Their commits need
-- not wait for the disk: the staging table is worth nothing until the publishing transaction
-- attaches it, and that transaction's own commit (synchronous, as the server is configured)
-- flushes all the WAL written before it. A crash before then leaves a staging table that the
-- next ingest sweeps (staging_leftovers.sql).
SET synchronous_commit = off;
