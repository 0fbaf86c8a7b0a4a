-- The rectification ledger (问题整改台账): remote-sensing clues of suspected human activity
-- delivered by national, provincial and city monitoring, each verified in the field, assigned
-- to a lead and responsible departments, rectified by a deadline and signed off by the
-- coordinating office. The workflow itself (which step may follow which) lives in
-- onemap-ledger (ledger/src/workflow.rs); every step is appended to onemap.audit as well as to
-- onemap.clue_events.

CREATE TABLE onemap.clues (
    id              bigserial PRIMARY KEY,
    -- The feed's own id; unique per source level, so re-importing a batch adds nothing.
    clue_id         text NOT NULL CHECK (length(clue_id) BETWEEN 1 AND 100),
    source          text NOT NULL CHECK (source IN ('national', 'provincial', 'city')),
    batch           text NOT NULL,
    detected_on     date NOT NULL,
    activity        text NOT NULL CHECK (activity IN ('mining', 'construction', 'road',
                        'hydropower', 'tourism_facility', 'grazing', 'reclamation', 'other')),
    -- Point or polygon, EPSG:4326.
    geom            geometry NOT NULL CHECK (ST_SRID(geom) = 4326),
    -- Geodesic area for polygons, 0 for points.
    area_m2         double precision GENERATED ALWAYS AS (onemap.geodesic_area(geom)) STORED,
    -- The feed's other attributes, as delivered.
    props           jsonb NOT NULL DEFAULT '{}',
    imported_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    imported_by     text NOT NULL,

    -- Enrichment, computed at import (sql in ledger/src/sql/enrich.sql).
    zones           jsonb NOT NULL DEFAULT '[]',   -- [{"name","kind"}] of reserve_zones
    in_reserve      boolean NOT NULL DEFAULT false,
    station         text,                          -- the jurisdiction's station code
    station_name    text,
    village_code    text,
    village_name    text,
    land_classes    jsonb NOT NULL DEFAULT '[]',   -- [{"year","class"}] of the land-use layer
    change_parcels  jsonb NOT NULL DEFAULT '[]',   -- [{"from_year","to_year","from_class","to_class","area_m2"}]
    suggested_lead  text REFERENCES onemap.departments (code),
    suggested_responsible text[] NOT NULL DEFAULT '{}',

    -- The workflow.
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending',
                        'verified_problem', 'verified_no_problem', 'rectifying', 'rectified',
                        'closed')),
    lead_department text REFERENCES onemap.departments (code),
    responsible_departments text[] NOT NULL DEFAULT '{}',
    field_notes     text,
    verified_by     text,
    verified_on     date,
    measures        text,
    deadline        date,
    evidence        text,
    rectified_on    date,
    closed_by       text,
    closed_on       date,
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (clue_id, source)
);
CREATE INDEX clues_geom ON onemap.clues USING gist (geom);
CREATE INDEX clues_status ON onemap.clues (status, deadline);

-- Every workflow step of a clue, with the audit entry that records it.
CREATE TABLE onemap.clue_events (
    id          bigserial PRIMARY KEY,
    clue        bigint NOT NULL REFERENCES onemap.clues (id),
    action      text NOT NULL,
    from_status text NOT NULL,
    to_status   text NOT NULL,
    actor       text NOT NULL,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    details     jsonb NOT NULL DEFAULT '{}',
    audit_seq   bigint NOT NULL REFERENCES onemap.audit (seq)
);
CREATE INDEX clue_events_clue ON onemap.clue_events (clue, id);

-- Suggested lead and responsible departments, editable. A rule applies to clues of its
-- activity (`*`: any) and, with in_reserve_only, only to clues inside a reserve zone. The
-- department `station` stands for the station whose jurisdiction holds the clue. The lead is
-- the lead of the most specific matching rule (an activity beats `*`, then the lowest id); the
-- responsible departments are every matching rule's, less the lead.
CREATE TABLE onemap.clue_assignment_rules (
    id              serial PRIMARY KEY,
    activity        text NOT NULL CHECK (activity IN ('*', 'mining', 'construction', 'road',
                        'hydropower', 'tourism_facility', 'grazing', 'reclamation', 'other')),
    in_reserve_only boolean NOT NULL DEFAULT false,
    lead            text CHECK (lead ~ '^[a-z][a-z0-9_]{0,31}$'),
    responsible     text[] NOT NULL DEFAULT '{}',
    note            text NOT NULL DEFAULT ''
);

INSERT INTO onemap.clue_assignment_rules (activity, in_reserve_only, lead, responsible, note)
VALUES ('mining', false, 'zrzy', '{}', 'mining rights: natural resources'),
       ('hydropower', false, 'sw', '{}', 'hydropower and water works: water'),
       ('grazing', false, 'nync', '{lcj}', 'grazing: agriculture, with forestry and grassland'),
       ('construction', false, 'zrzy', '{zjj}', 'construction: land use, with housing'),
       ('road', false, 'jtys', '{}', 'roads: transport'),
       ('tourism_facility', false, 'wtgl', '{}', 'tourism facilities: culture and tourism'),
       ('reclamation', false, 'nync', '{zrzy}', 'reclamation: agriculture, with natural resources'),
       ('*', true, 'station', '{station}', 'anything in the reserve: the station of the jurisdiction'),
       ('*', false, 'sthwb', '{}', 'otherwise: the coordinating office');

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'onemap_reader') THEN
        -- The server records workflow steps.
        EXECUTE 'GRANT SELECT, UPDATE ON onemap.clues TO onemap_reader';
        EXECUTE 'GRANT SELECT, INSERT ON onemap.clue_events TO onemap_reader';
        EXECUTE 'GRANT USAGE ON SEQUENCE onemap.clue_events_id_seq TO onemap_reader';
        EXECUTE 'GRANT SELECT ON onemap.clue_assignment_rules TO onemap_reader';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'onemap_writer') THEN
        -- Imports.
        EXECUTE 'GRANT SELECT, INSERT, UPDATE ON onemap.clues TO onemap_writer';
        EXECUTE 'GRANT USAGE ON SEQUENCE onemap.clues_id_seq TO onemap_writer';
        EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE ON onemap.clue_assignment_rules TO onemap_writer';
    END IF;
END
$$;
