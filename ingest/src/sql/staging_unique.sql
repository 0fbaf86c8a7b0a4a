CREATE UNIQUE INDEX ON {table} (version_id, fid)
