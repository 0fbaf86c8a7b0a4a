COPY {table} (version_id, fid, props, geom, geom_3857, area_m2) FROM STDIN (FORMAT binary)
