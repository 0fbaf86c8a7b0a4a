DELETE FROM {table} WHERE fid = ANY($1)
