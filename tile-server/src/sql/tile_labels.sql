-- A polygon layer's tile (the query of tile.sql, inserted below) followed by one label point per named
-- feature in an MVT layer "<layer>_labels", so that the viewer names each area once per view
-- rather than once per tile piece. The point (ST_PointOnSurface of the whole feature, inside
-- it even for rings and multipolygons) is emitted only in the one tile that contains it:
-- half-open on the tile's edges, so a point on an edge belongs to exactly one tile. Only from
-- zoom 6, where the style starts labelling areas, so low-zoom tiles keep a single layer.
SELECT coalesce(({tile}), ''::bytea) || coalesce((
    SELECT ST_AsMVT(l, ($4::json ->> 'layer') || '_labels', {extent}, 'geom', 'fid')
    FROM (
        SELECT f.fid,
               f.props ->> 'name' AS name,
               f.props ->> 'name_en' AS name_en,
               f.props ->> 'MC' AS "MC",
               f.props ->> 'XZQMC' AS "XZQMC",
               ST_AsMVTGeom(p.pt, e.env, {extent}, 0, false) AS geom
        FROM (SELECT ST_TileEnvelope($1::int, $2::int, $3::int) AS env) e
        JOIN onemap.features f
          ON f.version_id = ($4::json ->> 'version')::bigint
         AND f.geom_3857 && e.env
        CROSS JOIN LATERAL (SELECT ST_PointOnSurface(f.geom_3857) AS pt) p
        WHERE $1::int >= 6
          AND coalesce(f.props ->> 'name', f.props ->> 'MC', f.props ->> 'XZQMC') IS NOT NULL
          AND ST_X(p.pt) >= ST_XMin(e.env) AND ST_X(p.pt) < ST_XMax(e.env)
          AND ST_Y(p.pt) > ST_YMin(e.env) AND ST_Y(p.pt) <= ST_YMax(e.env)
    ) l
    WHERE l.geom IS NOT NULL
), ''::bytea)
