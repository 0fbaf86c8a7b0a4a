-- Photos of the rectification ledger (onemap-ledger, ledger/src/photos.rs): field-verification
-- and rectification evidence. The file itself is stored by the server under its data folder
-- with a content-addressed name (the SHA-256 of its bytes, never a name the client gave); this
-- table says which clue it belongs to, what it is and who uploaded it. Workflow steps refer to
-- photos by id (clue_events.details -> 'photos').

CREATE TABLE onemap.clue_photos (
    id          bigserial PRIMARY KEY,
    clue        bigint NOT NULL REFERENCES onemap.clues (id),
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    media_type  text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png', 'image/webp')),
    bytes       bigint NOT NULL CHECK (bytes > 0),
    -- What the photo shows (optional, the uploader's words).
    caption     text NOT NULL DEFAULT '' CHECK (length(caption) <= 1000),
    uploaded_by text NOT NULL,
    uploaded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    audit_seq   bigint NOT NULL REFERENCES onemap.audit (seq),
    -- The same picture uploaded twice to a clue is one photo.
    UNIQUE (clue, sha256)
);
CREATE INDEX clue_photos_clue ON onemap.clue_photos (clue, id);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'onemap_reader') THEN
        EXECUTE 'GRANT SELECT ON onemap.clue_photos TO onemap_reader';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'onemap_writer') THEN
        -- Uploads and workflow steps go through the write pool.
        EXECUTE 'GRANT SELECT, INSERT ON onemap.clue_photos TO onemap_writer';
        EXECUTE 'GRANT USAGE ON SEQUENCE onemap.clue_photos_id_seq TO onemap_writer';
        EXECUTE 'GRANT SELECT, UPDATE ON onemap.clues TO onemap_writer';
        EXECUTE 'GRANT SELECT, INSERT ON onemap.clue_events TO onemap_writer';
        EXECUTE 'GRANT USAGE ON SEQUENCE onemap.clue_events_id_seq TO onemap_writer';
    END IF;
END
$$;
