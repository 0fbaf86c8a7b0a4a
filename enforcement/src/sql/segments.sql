-- The change pieces of two land-use versions split at the borders of the reserve zones, each
-- with its zone, the rule that judges its transition (onemap.transition_rule) and whether it is
-- flagged: prohibited in the kind of zone it lies in. A zone's kind comes from its `zone`
-- attribute (core, buffer, experimental) or its name (核心区, 缓冲区, 实验区); land in no zone
-- is `outside`. Pieces wholly inside one zone (or in none) keep their stored geodesic area.
-- $1 from-version, $2 to-version, $3 zone version (NULL: no zones), $4 SRID of the to-version,
-- $5, $6, $7 tile z, x, y (NULL $5: every piece; otherwise the pieces in that tile only).
WITH zones AS MATERIALIZED (
    SELECT fid, coalesce(props ->> 'name', props ->> 'MC', fid::text) AS name,
           CASE WHEN lower(props ->> 'zone') IN ('core', 'buffer', 'experimental')
                     THEN lower(props ->> 'zone')
                WHEN props ->> 'name' = '核心区' THEN 'core'
                WHEN props ->> 'name' = '缓冲区' THEN 'buffer'
                WHEN props ->> 'name' = '实验区' THEN 'experimental' END AS kind,
           ST_Transform(geom, $4::int) AS geom
    FROM onemap.features
    WHERE $3::bigint IS NOT NULL AND version_id = $3 AND ST_Dimension(geom) = 2
),
pieces AS MATERIALIZED (
    SELECT c.from_fid, c.to_fid, c.from_class, c.to_class, c.geom, c.area_m2
    FROM onemap.change_parcels c
    WHERE c.from_version = $1 AND c.to_version = $2
      AND ($5::int IS NULL
           OR ST_Transform(c.geom, 3857)
              && ST_TileEnvelope($5::int, $6::int, $7::int, margin => 0.0625))
),
-- Each distinct transition judged once.
rules AS MATERIALIZED (
    SELECT p.from_class, p.to_class, coalesce(r.trend, 'stable') AS trend,
           coalesce(r.prohibited_in, '{}'::text[]) AS prohibited_in
    FROM (SELECT DISTINCT from_class, to_class FROM pieces) p
    LEFT JOIN LATERAL onemap.transition_rule(p.from_class, p.to_class) r ON true
),
split AS (
    SELECT p.from_fid, p.to_fid, p.from_class, p.to_class, z.fid AS zone_fid,
           z.name AS zone_name, z.kind AS zone_kind, c.geom,
           CASE WHEN c.whole THEN p.area_m2 END AS whole_area
    FROM pieces p
    JOIN zones z ON p.geom && z.geom AND ST_Intersects(z.geom, p.geom)
    CROSS JOIN LATERAL (SELECT ST_Covers(z.geom, p.geom) AS whole) w
    CROSS JOIN LATERAL (
        SELECT w.whole,
               CASE WHEN w.whole THEN p.geom
                    ELSE ST_CollectionExtract(ST_Intersection(z.geom, p.geom), 3) END AS geom
    ) c
    UNION ALL
    SELECT p.from_fid, p.to_fid, p.from_class, p.to_class, NULL, NULL, 'outside', d.geom,
           CASE WHEN u.geom IS NULL THEN p.area_m2 END
    FROM pieces p
    CROSS JOIN LATERAL (
        SELECT ST_Union(z.geom) AS geom
        FROM zones z
        WHERE p.geom && z.geom AND ST_Intersects(z.geom, p.geom)
    ) u
    CROSS JOIN LATERAL (
        SELECT CASE WHEN u.geom IS NULL THEN p.geom
                    ELSE ST_CollectionExtract(ST_Difference(p.geom, u.geom), 3) END AS geom
    ) d
)
SELECT s.from_fid, s.to_fid, s.from_class, s.to_class, s.zone_fid, s.zone_name,
       coalesce(s.zone_kind, '') AS zone_kind, r.trend,
       coalesce(s.zone_kind = ANY(r.prohibited_in), false) AS flagged, s.geom, s.area_m2
FROM (
    SELECT split.*, coalesce(whole_area, onemap.geodesic_area(geom)) AS area_m2
    FROM split
    WHERE NOT ST_IsEmpty(geom)
    OFFSET 0
) s
JOIN rules r ON r.from_class = s.from_class AND r.to_class = s.to_class
WHERE s.area_m2 > 0
