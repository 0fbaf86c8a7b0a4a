-- The ingest job queue: each row is one file to publish as a new version of a layer, taken by
-- a worker (`onemap worker`, or the one inside `onemap serve`) with FOR UPDATE SKIP LOCKED.
-- A running job's worker renews `heartbeat_at` while it works; a running job whose heartbeat is
-- older than the lease was interrupted (worker killed, machine restarted) and is taken again.

CREATE TABLE onemap.ingest_jobs (
    id            bigserial PRIMARY KEY,
    state         text NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    -- What to ingest: the IngestRequest's fields (layer, department, year, label, srid, ...).
    request       jsonb NOT NULL,
    -- The file on the server: a path given by the operator, or an upload stored under the
    -- data folder's uploads/ with a server-chosen name.
    file_path     text NOT NULL,
    -- The name the client gave the file (shown only; never used as a path).
    original_name text,
    -- Whether file_path is an upload the queue owns (deleted once the job succeeded).
    upload        boolean NOT NULL DEFAULT false,
    -- Who asked: the user or operator name, and the principal the worker publishes as.
    requested_by  text NOT NULL,
    requester     jsonb NOT NULL,
    department    text NOT NULL,
    attempts      int NOT NULL DEFAULT 0,
    rows_read     bigint NOT NULL DEFAULT 0,
    bytes_read    bigint,
    bytes_total   bigint,
    percent       real,
    report        jsonb,
    error         text,
    worker        text,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at    timestamptz,
    heartbeat_at  timestamptz,
    finished_at   timestamptz
);

CREATE INDEX ingest_jobs_pending ON onemap.ingest_jobs (id) WHERE state IN ('queued', 'running');

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'onemap_reader')
       AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'onemap_writer') THEN
        EXECUTE 'GRANT SELECT, INSERT, UPDATE ON onemap.ingest_jobs TO onemap_reader, onemap_writer';
        EXECUTE 'GRANT USAGE ON SEQUENCE onemap.ingest_jobs_id_seq TO onemap_reader, onemap_writer';
    END IF;
END
$$;
