-- Rules for enforcement: which land-class transitions are degradation, stable or improvement
-- (as Trends.Earth classifies land-cover transitions), and in which reserve zones a transition
-- is prohibited. Defaults ship here; departments edit `onemap.transition_rules` through
-- onemap-enforcement (every change audited). Class patterns: `*` (any class), a code prefix
-- ending in `*` (`05*`), a first-level class (`03`: 0301, 0302… and 03 itself), or a code as
-- surveyed (`0602`, `204`, `1108`). The most specific rule wins (see class_pattern_score).

CREATE TABLE onemap.transition_rules (
    id            serial PRIMARY KEY,
    from_class    text NOT NULL CHECK (from_class ~ '^(\*|[0-9A-Za-z]{2,6}\*?)$'),
    to_class      text NOT NULL CHECK (to_class ~ '^(\*|[0-9A-Za-z]{2,6}\*?)$'),
    trend         text NOT NULL CHECK (trend IN ('degradation', 'stable', 'improvement')),
    -- Reserve zone kinds where the transition is prohibited (flagged for enforcement).
    prohibited_in text[] NOT NULL DEFAULT '{}'
        CHECK (prohibited_in <@ ARRAY['core', 'buffer', 'experimental', 'outside']::text[]),
    note          text NOT NULL DEFAULT '',
    UNIQUE (from_class, to_class)
);

-- The platform's defaults, kept apart so that `onemap rules reset` can restore them.
CREATE TABLE onemap.transition_rule_defaults (
    id            serial PRIMARY KEY,
    from_class    text NOT NULL,
    to_class      text NOT NULL,
    trend         text NOT NULL,
    prohibited_in text[] NOT NULL DEFAULT '{}',
    note          text NOT NULL DEFAULT '',
    UNIQUE (from_class, to_class)
);

-- Natural land (forest 03, grassland 04, wetland 00 and the wetland codes of water 1105, 1106,
-- 1108) turned into cropland (01), construction, mining or transport (05–10, 20x; mining 0602
-- and 204 fall under 06 and 20): degradation, prohibited in the core and buffer zones
-- (自然保护区条例 art. 18).
INSERT INTO onemap.transition_rule_defaults (from_class, to_class, trend, prohibited_in, note)
SELECT f, t, 'degradation', ARRAY['core', 'buffer'],
       'natural land turned into cropland, construction or mining'
FROM unnest(ARRAY['03', '04', '00', '1105', '1106', '1108']) AS f,
     unnest(ARRAY['01', '05', '06', '07', '08', '09', '10', '20']) AS t;

-- Loss of cover between natural classes: degradation, not prohibited by zone.
INSERT INTO onemap.transition_rule_defaults (from_class, to_class, trend, note)
VALUES ('03', '04', 'degradation', 'forest turned into grassland'),
       ('03', '12', 'degradation', 'forest turned into bare or other land'),
       ('04', '12', 'degradation', 'grassland turned into bare or other land'),
       ('00', '12', 'degradation', 'wetland turned into bare or other land'),
       ('04', '03', 'improvement', 'grassland afforested');

-- Restoration (grain for green 退耕还林还草, mine and construction land restored, bare land
-- revegetated): improvement. Unlike Trends.Earth's default matrix, cropland → grassland is an
-- improvement and grassland → cropland a degradation here: the reserve's policy.
INSERT INTO onemap.transition_rule_defaults (from_class, to_class, trend, note)
SELECT f, t, 'improvement', 'land restored to forest, grassland or wetland'
FROM unnest(ARRAY['01', '05', '06', '07', '08', '09', '10', '20', '12']) AS f,
     unnest(ARRAY['03', '04', '00']) AS t;

-- Everything else: stable (the same class, or a change the rules do not judge).
INSERT INTO onemap.transition_rule_defaults (from_class, to_class, trend, note)
VALUES ('*', '*', 'stable', 'any other transition');

INSERT INTO onemap.transition_rules (from_class, to_class, trend, prohibited_in, note)
SELECT from_class, to_class, trend, prohibited_in, note
FROM onemap.transition_rule_defaults
ORDER BY id;

-- How specifically `pattern` matches class `code` (NULL: not at all): a code as surveyed beats
-- a first-level class, which beats a prefix with `*`, which beats `*`.
CREATE FUNCTION onemap.class_pattern_score(pattern text, code text) RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE
        WHEN pattern = '*' THEN 0
        WHEN right(pattern, 1) = '*' THEN
            CASE WHEN starts_with(code, left(pattern, -1)) THEN 2 * (length(pattern) - 1) END
        WHEN code = pattern THEN 2 * length(pattern) + 1
        WHEN length(pattern) = 2 AND left(code, 2) = pattern THEN 5
    END
$$;

-- The rule that decides a transition: the most specific match (sum of both scores, then the
-- from-class's, then the oldest rule). No row when no rule matches.
CREATE FUNCTION onemap.transition_rule(from_code text, to_code text)
RETURNS TABLE (rule_id int, trend text, prohibited_in text[])
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT s.id, s.trend, s.prohibited_in
    FROM (
        SELECT r.id, r.trend, r.prohibited_in,
               onemap.class_pattern_score(r.from_class, from_code) AS sf,
               onemap.class_pattern_score(r.to_class, to_code) AS st
        FROM onemap.transition_rules r
    ) s
    WHERE s.sf IS NOT NULL AND s.st IS NOT NULL
    ORDER BY s.sf + s.st DESC, s.sf DESC, s.id
    LIMIT 1
$$;

-- Change-parcel tiles select pieces by their Web-Mercator box.
CREATE INDEX change_parcels_geom_3857 ON onemap.change_parcels
    USING gist (ST_Transform(geom, 3857));

-- The server edits the rules (for editors of the coordinating office and natural resources,
-- and admins; checked by authz::can_edit_rules).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'onemap_reader') THEN
        EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE ON onemap.transition_rules TO onemap_reader';
        EXECUTE 'GRANT USAGE ON SEQUENCE onemap.transition_rules_id_seq TO onemap_reader';
        EXECUTE 'GRANT SELECT ON onemap.transition_rule_defaults TO onemap_reader';
    END IF;
END
$$;
