-- Overlay, first pass: a from-parcel wholly inside one to-parcel is itself the piece, with its
-- stored area (every parcel that did not change shape). Parcels of one survey year do not
-- overlap, so such a parcel has no other piece.
-- $1 from-version, $2 to-version, $3 from class field, $4 to class field, $5 to-version SRID.
INSERT INTO pg_temp.trend_pieces
SELECT a.fid, b.fid, coalesce(a.props ->> $3::text, ''), coalesce(b.props ->> $4::text, ''),
       t.geom, a.area_m2
FROM onemap.features a
-- Same SRID (the usual case): no transform at all, not even per candidate pair.
CROSS JOIN LATERAL (SELECT CASE WHEN ST_SRID(a.geom) = $5::int THEN a.geom
                             ELSE ST_Transform(a.geom, $5::int) END AS geom) t
JOIN onemap.features b
  -- A parcel inside another has its box inside the other's box: the index's ~ skips the
  -- neighbours that merely touch before any GEOS call, and an unchanged parcel (the same
  -- coordinates, most of them) is recognised by exact equality without one.
  ON b.version_id = $2 AND b.geom_3857 ~ a.geom_3857
 AND (t.geom = b.geom OR ST_CoveredBy(t.geom, b.geom))
WHERE a.version_id = $1
