-- Cookie sessions of the viewer, and the split of database privileges between the server's
-- read pool (onemap_reader: SELECT only) and everything that writes (onemap_writer: ingest,
-- and the server's small write pool for logins, sessions, tokens, access and rule changes, the
-- tile generalisation and the audit trail).

-- A session: only the SHA-256 of its id and of its CSRF token are kept (both 256 random bits).
-- Valid while not ended, seen within the idle timeout and younger than the absolute lifetime
-- (both enforced by onemap-access).
CREATE TABLE onemap.sessions (
    id             bigserial PRIMARY KEY,
    user_id        int NOT NULL REFERENCES onemap.users (id) ON DELETE CASCADE,
    session_sha256 text NOT NULL UNIQUE CHECK (session_sha256 ~ '^[0-9a-f]{64}$'),
    csrf_sha256    text NOT NULL CHECK (csrf_sha256 ~ '^[0-9a-f]{64}$'),
    client_addr    text,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_seen_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    ended_at       timestamptz
);
CREATE INDEX sessions_user ON onemap.sessions (user_id);

DO $$
DECLARE
    g record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'onemap_reader')
       OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'onemap_writer') THEN
        RAISE NOTICE 'onemap_reader/onemap_writer missing: privileges left to the DBA';
        RETURN;
    END IF;
    -- The read pool reads, and nothing else. Whatever earlier migrations let it change
    -- (the trail, tokens, rules, jobs, clues…) moves to the writer, which the server's write
    -- pool uses.
    FOR g IN SELECT DISTINCT table_name, privilege_type FROM information_schema.role_table_grants
             WHERE grantee = 'onemap_reader' AND table_schema = 'onemap'
               AND privilege_type IN ('INSERT', 'UPDATE', 'DELETE') LOOP
        EXECUTE format('GRANT %s ON onemap.%I TO onemap_writer', g.privilege_type, g.table_name);
    END LOOP;
    EXECUTE 'REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA onemap FROM onemap_reader';
    EXECUTE 'REVOKE USAGE ON ALL SEQUENCES IN SCHEMA onemap FROM onemap_reader';
    EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA onemap TO onemap_reader';
    -- The writer: what ingest needs (V3) plus what the server changes.
    EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA onemap TO onemap_writer';
    EXECUTE 'GRANT INSERT, UPDATE ON onemap.tokens, onemap.sessions TO onemap_writer';
    EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE ON onemap.transition_rules TO onemap_writer';
    EXECUTE 'GRANT INSERT, UPDATE, DELETE ON onemap.generalised_land_use,
                                            onemap.generalised_versions TO onemap_writer';
    -- The trend figures are computed when first asked for, by the server.
    EXECUTE 'GRANT INSERT, UPDATE, DELETE ON onemap.trend_zone_area, onemap.change_parcels,
                                            onemap.trend_transitions, onemap.trend_runs
             TO onemap_writer';
    EXECUTE 'GRANT USAGE ON ALL SEQUENCES IN SCHEMA onemap TO onemap_writer';
    EXECUTE 'REVOKE UPDATE, DELETE, TRUNCATE ON onemap.audit FROM PUBLIC, onemap_reader, onemap_writer';
    -- The server connects as its login role and assumes these roles at connection start
    -- (options=-c role=…), which needs membership. A superuser needs none; without the right
    -- to grant, the DBA grants them.
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND rolsuper) THEN
        BEGIN
            EXECUTE format('GRANT onemap_reader, onemap_writer TO %I', current_user);
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'cannot grant onemap_reader/onemap_writer to %: left to the DBA', current_user;
        END;
    END IF;
END
$$;
