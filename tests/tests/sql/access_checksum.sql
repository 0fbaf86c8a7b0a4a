-- One digest of everything the injection probes must not change.
SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
    SELECT 'L' || row(l.*)::text AS x FROM onemap.layers l
    UNION ALL SELECT 'V' || row(v.*)::text FROM onemap.layer_versions v
    UNION ALL SELECT 'S' || row(s.*)::text FROM onemap.layer_shares s
    UNION ALL SELECT 'U' || row(u.*)::text FROM onemap.users u
    UNION ALL SELECT 'T' || row(t.*)::text FROM onemap.tokens t
    UNION ALL SELECT 'D' || row(d.*)::text FROM onemap.departments d
    UNION ALL SELECT 'C' || row(c.*)::text FROM onemap.land_classes c
    UNION ALL SELECT 'F' || f.version_id || ',' || f.fid || ',' || f.props::text || ','
                     || md5(ST_AsEWKB(f.geom)) FROM onemap.features f
) q
