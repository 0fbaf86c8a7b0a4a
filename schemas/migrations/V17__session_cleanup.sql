-- Sessions are deleted rather than kept once over: at logout, when a login replaces the
-- browser's previous session, when their user is disabled or changes password, and when they
-- have expired (idle or absolute; the server prunes them periodically, `onemap sessions prune`
-- by hand). The server's write pool needs DELETE for that (V11 gave it INSERT and UPDATE).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'onemap_writer') THEN
        EXECUTE 'GRANT DELETE ON onemap.sessions TO onemap_writer';
    END IF;
END $$;

-- The prune looks for sessions by age.
CREATE INDEX sessions_last_seen ON onemap.sessions (last_seen_at);
