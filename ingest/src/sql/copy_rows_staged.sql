COPY {table} (version_id, fid, props, geom) FROM STDIN (FORMAT binary)
