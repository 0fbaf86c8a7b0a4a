SELECT EXISTS (SELECT 1 FROM spatial_ref_sys WHERE srid = $1)
