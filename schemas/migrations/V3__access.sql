-- Access control and the audit trail: users in departments with a role, bearer tokens (stored
-- as SHA-256 digests only), per-layer share lists, an append-only hash-chained audit trail, and
-- the least-privilege database roles onemap_reader (the server) and onemap_writer (ingest).

CREATE TABLE onemap.users (
    id            serial PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9_.-]{0,62}$'),
    department    text NOT NULL REFERENCES onemap.departments (code),
    role          text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin', 'auditor')),
    -- Argon2id in PHC string form; null for a user who signs in with tokens only.
    password_hash text CHECK (password_hash IS NULL OR password_hash LIKE '$argon2%'),
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Bearer tokens. Only the SHA-256 of a token is kept: tokens carry 256 random bits, so a fast
-- digest is enough and a stolen table yields no usable token.
CREATE TABLE onemap.tokens (
    id           bigserial PRIMARY KEY,
    user_id      int NOT NULL REFERENCES onemap.users (id) ON DELETE CASCADE,
    token_sha256 text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    label        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    revoked_at   timestamptz
);
CREATE INDEX tokens_user ON onemap.tokens (user_id);

-- Departments a restricted layer is shared with (besides its owner).
CREATE TABLE onemap.layer_shares (
    layer_key  int  NOT NULL REFERENCES onemap.layers (key) ON DELETE CASCADE,
    department text NOT NULL REFERENCES onemap.departments (code),
    PRIMARY KEY (layer_key, department)
);
CREATE TRIGGER layer_shares_changed AFTER INSERT OR UPDATE OR DELETE ON onemap.layer_shares
    FOR EACH STATEMENT EXECUTE FUNCTION onemap.notify_catalog();

-- The audit trail. Entries are appended under an advisory lock (so seq has no gaps and the
-- chain stays linear); hash = sha256(prev_hash || '\n' || canonical JSON of the entry),
-- computed and checked by onemap-access (`onemap audit verify`).
CREATE TABLE onemap.audit (
    seq              bigint PRIMARY KEY CHECK (seq > 0),
    at               timestamptz NOT NULL,
    actor            text NOT NULL,
    actor_department text,
    actor_role       text,
    client_addr      text,
    action           text NOT NULL,
    target           text,
    details          jsonb NOT NULL DEFAULT '{}',
    prev_hash        text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash             text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$')
);
CREATE INDEX audit_at ON onemap.audit (at);

-- Nobody rewrites the trail: UPDATE, DELETE and TRUNCATE raise, whoever asks. A superuser can
-- still disable the trigger; `onemap audit verify` then detects what was altered.
CREATE FUNCTION onemap.audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'onemap.audit is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON onemap.audit
    FOR EACH ROW EXECUTE FUNCTION onemap.audit_is_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON onemap.audit
    FOR EACH STATEMENT EXECUTE FUNCTION onemap.audit_is_append_only();

-- Least-privilege roles (cluster-wide, so created only once; a concurrent migration of another
-- database may create them first). Without CREATEROLE the roles are left to the DBA.
DO $$
DECLARE
    r text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user
                   AND (rolsuper OR rolcreaterole)) THEN
        RAISE NOTICE 'cannot create onemap_reader/onemap_writer: no CREATEROLE';
        RETURN;
    END IF;
    FOREACH r IN ARRAY ARRAY['onemap_reader', 'onemap_writer'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;

    EXECUTE 'GRANT USAGE ON SCHEMA onemap TO onemap_reader, onemap_writer';
    -- The server reads everything and appends to the trail; it changes only tokens (login,
    -- logout) and nothing else.
    EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA onemap TO onemap_reader';
    EXECUTE 'GRANT INSERT ON onemap.audit TO onemap_reader';
    EXECUTE 'GRANT INSERT, UPDATE ON onemap.tokens TO onemap_reader';
    EXECUTE 'GRANT USAGE ON SEQUENCE onemap.tokens_id_seq TO onemap_reader';
    -- Ingest writes layers, versions and their partitions.
    EXECUTE 'GRANT CREATE ON SCHEMA onemap TO onemap_writer';
    EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA onemap TO onemap_writer';
    EXECUTE 'GRANT INSERT, UPDATE ON onemap.layers, onemap.layer_versions, onemap.features,
                                    onemap.layer_shares TO onemap_writer';
    EXECUTE 'GRANT DELETE ON onemap.layer_shares TO onemap_writer';
    EXECUTE 'GRANT INSERT ON onemap.audit TO onemap_writer';
    EXECUTE 'GRANT USAGE ON ALL SEQUENCES IN SCHEMA onemap TO onemap_writer';
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA onemap GRANT SELECT ON TABLES TO onemap_reader, onemap_writer';
    -- The trail can be appended to and read, never changed.
    EXECUTE 'REVOKE UPDATE, DELETE, TRUNCATE ON onemap.audit FROM PUBLIC, onemap_reader, onemap_writer';
END
$$;
