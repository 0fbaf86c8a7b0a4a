//! Onemap's ingest job queue. A job is one file to publish as a new version of a layer, kept in
//! `onemap.ingest_jobs` (migration V5). [`enqueue`] checks that the requester may publish and
//! adds a job; workers ([`run_worker`] in `onemap worker` and inside `onemap serve`) take jobs
//! with `FOR UPDATE SKIP LOCKED` through [`try_execute_job`], which tests call directly to drain
//! the queue step by step.
//!
//! While a job runs, its worker writes the ingest's progress and a heartbeat to the job row
//! every [`HEARTBEAT`]. A running job whose heartbeat is older than [`LEASE`] was interrupted
//! (worker killed, machine restarted): the next worker takes it again, up to [`MAX_ATTEMPTS`]
//! times. The ingest itself publishes in one transaction, so an interrupted or failed attempt
//! leaves earlier versions as they were and nothing anyone can see behind.
//!
//! A job's rows go over several COPY connections at once, as with `onemap ingest`
//! ([`WorkerPool`] carries the [`ParallelCopy`] settings, since a connection pool does not keep
//! its database URL): a staging table that no reader can see is loaded, then attached in the
//! publishing transaction. A killed stream fails the job and drops the staging table; one left
//! by a killed worker is swept by the next ingest (`onemap_ingest::sweep_staging`).

mod error;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use onemap_access::{Acting, Principal, Role, User};
use onemap_ingest::{IngestProgress, IngestRequest, ParallelCopy};
use onemap_schemas::authz::can_publish;
use onemap_schemas::catalog::Catalog;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio_postgres::Client;

pub use error::{JobError, JobResult};

/// How often a running job's row gets its progress and heartbeat.
pub const HEARTBEAT: Duration = Duration::from_millis(500);
/// A running job whose heartbeat is older than this is taken again by another worker.
pub const LEASE: Duration = Duration::from_secs(30);
/// How many times a job is started before a worker that keeps dying marks it failed.
pub const MAX_ATTEMPTS: i32 = 3;

/// What to publish: the fields of an [`IngestRequest`] a requester chooses (the file is kept
/// apart, and `ingested_by` is always the requester).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRequest {
    pub layer: String,
    pub department: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub srid: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_layer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_zh: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_en: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_field: Option<String>,
}

impl JobRequest {
    fn ingest_request(
        &self,
        path: PathBuf,
        progress: Arc<IngestProgress>,
        parallel: Option<ParallelCopy>,
    ) -> IngestRequest {
        IngestRequest {
            path,
            layer: self.layer.clone(),
            department: self.department.clone(),
            year: self.year,
            label: self.label.clone(),
            srid: self.srid,
            encoding: self.encoding.clone(),
            source_layer: self.source_layer.clone(),
            title_zh: self.title_zh.clone(),
            title_en: self.title_en.clone(),
            theme: self.theme.clone(),
            class_field: self.class_field.clone(),
            progress: Some(progress),
            parallel,
            ..IngestRequest::default()
        }
    }
}

/// The file a job ingests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFile {
    /// Where it is on the server.
    pub path: PathBuf,
    /// The name the client gave it, shown in the job (never used as a path).
    pub original_name: Option<String>,
    /// An upload the queue owns: deleted once the job succeeded.
    pub upload: bool,
}

/// A job as `GET /api/jobs/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: i64,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub state: String,
    pub request: Value,
    pub file: Option<String>,
    pub requested_by: String,
    /// The owning department (of the layer, or of the new layer).
    pub department: String,
    pub attempts: i32,
    /// Features read so far (all of them once succeeded).
    pub rows: i64,
    pub bytes: Option<i64>,
    pub bytes_total: Option<i64>,
    pub percent: Option<f32>,
    /// The ingest report once succeeded.
    pub report: Option<Value>,
    /// Why the job failed.
    pub error: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    #[serde(skip)]
    requester_id: Option<i32>,
}

/// What one [`try_execute_job`] call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecutionOutcome {
    /// No job was waiting.
    EmptyQueue,
    /// A job ran to its end: `succeeded` or `failed` (with the error).
    TaskCompleted {
        id: i64,
        succeeded: bool,
        error: Option<String>,
    },
}

/// What workers run jobs with: a connection pool (a job needs one connection for its ingest and
/// one for its heartbeat), and how a job's rows are loaded: over [`ParallelCopy`] streams,
/// which open connections of their own (a staging connection and one per stream, outside the
/// pool) to the pool's URL, so with the same role; or, with one stream, in one COPY inside the
/// publishing transaction.
#[derive(Clone)]
pub struct WorkerPool {
    connections: deadpool_postgres::Pool,
    /// The URL the pool connects to, for the COPY streams (never printed: it may hold a
    /// password).
    url: String,
    /// COPY streams per job; below 2, one COPY inside the publishing transaction.
    streams: usize,
}

impl WorkerPool {
    /// The same pool loading over `streams` COPY connections (0 or 1: one COPY inside the
    /// publishing transaction), whatever `ONEMAP_INGEST_STREAMS` says.
    #[must_use]
    pub fn with_streams(mut self, streams: usize) -> Self {
        self.streams = streams;
        self
    }

    /// How many COPY streams a job loads over (1: one COPY inside the publishing transaction).
    pub fn streams(&self) -> usize {
        self.streams.max(1)
    }

    /// The pool's connections.
    pub fn connections(&self) -> &deadpool_postgres::Pool {
        &self.connections
    }

    /// A job's parallel loading, if it has more than one stream.
    fn parallel(&self) -> Option<ParallelCopy> {
        (self.streams >= 2).then(|| ParallelCopy {
            url: self.url.clone(),
            streams: self.streams,
        })
    }
}

impl std::fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerPool")
            .field("streams", &self.streams())
            .finish_non_exhaustive()
    }
}

/// A [`WorkerPool`] of `size` connections to `database_url`; jobs load over the streams of
/// [`ParallelCopy::from_env`] (`ONEMAP_INGEST_STREAMS`, else one per core, 2 to 8), as
/// `onemap ingest` does.
pub fn pool(database_url: &str, size: usize) -> JobResult<WorkerPool> {
    let config: tokio_postgres::Config = database_url
        .parse()
        .map_err(JobError::pg("reading the database URL"))?;
    let manager = deadpool_postgres::Manager::new(config, tokio_postgres::NoTls);
    let connections = deadpool_postgres::Pool::builder(manager)
        .max_size(size.max(2))
        .build()
        .map_err(|e| JobError::Pool(e.to_string()))?;
    Ok(WorkerPool {
        connections,
        url: database_url.to_owned(),
        streams: ParallelCopy::from_env(database_url).map_or(1, |p| p.streams),
    })
}

/// The database role ingest publishes with: `onemap_writer`, which owns `onemap.features`
/// since migration V13 (PostgreSQL lets only the owner of `onemap.features` attach a version's
/// partition) and has every other privilege a publication needs (CREATE on schema onemap,
/// INSERT into layers, layer_versions, features and the audit trail, the job queue, the trend
/// figures). tests/tests/ingest_worker_role.rs runs a job end to end with it.
pub const WORKER_ROLE: &str = "onemap_writer";

/// `database_url` with [`WORKER_ROLE`] assumed at connection start (`options=-c role=…`) when
/// the role exists and the login role may assume it (migrations V3 and V11 arrange that).
/// Otherwise `database_url` as it is, with a warning: the database then does not keep ingest to
/// its own privileges.
pub async fn worker_url(database_url: &str) -> JobResult<String> {
    let config: tokio_postgres::Config = database_url
        .parse()
        .map_err(JobError::pg("reading the database URL"))?;
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(JobError::pg("connecting to check the worker role"))?;
    let connection = tokio::spawn(connection);
    let assumable: bool = client
        .query_one(include_str!("sql/role_assumable.sql"), &[&WORKER_ROLE])
        .await
        .map_err(JobError::pg("checking the worker role"))?
        .get(0);
    drop(client);
    let _ = connection.await;
    if assumable {
        Ok(with_role(database_url, WORKER_ROLE))
    } else {
        tracing::warn!(
            "the login role may not assume {WORKER_ROLE}: ingest publishes with the login \
             role's privileges (grant {WORKER_ROLE} to it to fix this)"
        );
        Ok(database_url.to_owned())
    }
}

/// `url` with `options=-c role=ROLE` added (key-value or URL form). `role` is a fixed name, so
/// it needs no quoting.
fn with_role(url: &str, role: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}options=-c%20role%3D{role}")
    } else {
        format!("{url} options='-c role={role}'")
    }
}

/// The pool `onemap worker` and the worker inside `onemap serve` run jobs with: [`pool`] of
/// [`worker_url`], so jobs publish as [`WORKER_ROLE`], and their COPY streams connect as
/// [`WORKER_ROLE`] too (as `onemap ingest`'s do).
pub async fn worker_pool(database_url: &str) -> JobResult<WorkerPool> {
    pool(&worker_url(database_url).await?, 3)
}

/// Who may see a job: whoever asked for it, editors of its department and admins (the same
/// people who may publish for that department, through `authz::can_publish`).
pub fn can_see(who: &Principal, job: &Job) -> bool {
    let asked = match (who, job.requester_id) {
        (Principal::User(u), Some(id)) => u.id == id,
        _ => false,
    };
    asked || can_publish(who, &job.department)
}

/// Checks that `acting` may publish `request` (as `onemap_access::publish` will check again
/// when the job runs), then adds the job. Returns its id.
pub async fn enqueue(
    client: &Client,
    acting: &Acting,
    request: &JobRequest,
    file: &JobFile,
) -> JobResult<i64> {
    let catalog = Catalog::load(client)
        .await
        .map_err(|e| JobError::Invalid(e.to_string()))?;
    let owner = catalog
        .layer(&Principal::Operator(String::new()), &request.layer)
        .map(|l| l.department.clone());
    if let Some(owner) = &owner {
        if catalog.layer(&acting.who, &request.layer).is_none() {
            return Err(JobError::NotFound(format!("no layer {:?}", request.layer)));
        }
        if !can_publish(&acting.who, owner) {
            return Err(JobError::Forbidden(format!(
                "{} may not publish versions of {} (owned by {owner})",
                acting.who.name(),
                request.layer
            )));
        }
    }
    if !can_publish(&acting.who, &request.department) {
        return Err(JobError::Forbidden(format!(
            "{} may not publish for department {}",
            acting.who.name(),
            request.department
        )));
    }
    let requester = match &acting.who {
        Principal::User(u) => {
            json!({ "kind": "user", "id": u.id, "name": u.name, "from": acting.from })
        }
        Principal::Operator(name) => {
            json!({ "kind": "operator", "name": name, "from": acting.from })
        }
        Principal::Anonymous => {
            return Err(JobError::Forbidden("sign in to publish".into()));
        }
    };
    let path = file.path.to_string_lossy().into_owned();
    let row = client
        .query_one(
            include_str!("sql/insert_job.sql"),
            &[
                &serde_json::to_value(request).map_err(|e| JobError::Invalid(e.to_string()))?,
                &path,
                &file.original_name,
                &file.upload,
                &acting.who.name(),
                &requester,
                &request.department,
            ],
        )
        .await
        .map_err(JobError::pg("adding the job"))?;
    let id: i64 = row.get(0);
    tracing::info!(job = id, layer = %request.layer, "ingest job queued");
    Ok(id)
}

/// The job `id`, if it exists and `who` may see it (others get `None`, as if it did not exist).
pub async fn get(client: &Client, who: &Principal, id: i64) -> JobResult<Option<Job>> {
    let Some(row) = client
        .query_opt(include_str!("sql/get_job.sql"), &[&id])
        .await
        .map_err(JobError::pg("reading the job"))?
    else {
        return Ok(None);
    };
    let requester: Value = row.get("requester");
    let job = Job {
        id: row.get("id"),
        state: row.get("state"),
        request: row.get("request"),
        file: row.get("original_name"),
        requested_by: row.get("requested_by"),
        department: row.get("department"),
        attempts: row.get("attempts"),
        rows: row.get("rows_read"),
        bytes: row.get("bytes_read"),
        bytes_total: row.get("bytes_total"),
        percent: row.get("percent"),
        report: row.get("report"),
        error: row.get("error"),
        created_at: row.get("created_at"),
        started_at: row.get("started_at"),
        finished_at: row.get("finished_at"),
        requester_id: requester
            .get("id")
            .and_then(Value::as_i64)
            .and_then(|i| i32::try_from(i).ok()),
    };
    Ok(can_see(who, &job).then_some(job))
}

/// Puts a failed job back in the queue (its file is still there). Returns whether it was
/// failed and visible to `who`.
pub async fn retry(client: &Client, who: &Principal, id: i64) -> JobResult<bool> {
    if get(client, who, id).await?.is_none() {
        return Ok(false);
    }
    Ok(client
        .query_opt(include_str!("sql/retry_job.sql"), &[&id])
        .await
        .map_err(JobError::pg("queueing the job again"))?
        .is_some())
}

/// A name for this worker, unique enough to tell whose lease a running job holds.
fn worker_name() -> String {
    format!("{}-{:08x}", std::process::id(), rand::random::<u32>())
}

/// Takes the oldest waiting job (or one whose worker's lease expired), ingests it as its
/// requester, and records the outcome. Returns [`ExecutionOutcome::EmptyQueue`] when there was
/// nothing to do. An `Err` is a problem with the queue itself, not with the job.
#[tracing::instrument(skip_all)]
pub async fn try_execute_job(workers: &WorkerPool) -> JobResult<ExecutionOutcome> {
    let pool = workers.connections();
    let worker = worker_name();
    let lease = LEASE.as_secs_f64();
    let mut conn = pool
        .get()
        .await
        .map_err(|e| JobError::Pool(e.to_string()))?;
    conn.execute(
        include_str!("sql/fail_abandoned.sql"),
        &[&lease, &MAX_ATTEMPTS],
    )
    .await
    .map_err(JobError::pg("failing abandoned jobs"))?;
    let Some(row) = conn
        .query_opt(
            include_str!("sql/take_job.sql"),
            &[&lease, &MAX_ATTEMPTS, &worker],
        )
        .await
        .map_err(JobError::pg("taking a job"))?
    else {
        return Ok(ExecutionOutcome::EmptyQueue);
    };
    let id: i64 = row.get("id");
    let path = PathBuf::from(row.get::<_, String>("file_path"));
    let upload: bool = row.get("upload");
    let attempt: i32 = row.get("attempts");
    tracing::info!(job = id, attempt, "ingest job started");

    let outcome = match job_inputs(&conn, &row).await {
        Ok((request, acting)) => {
            let progress = Arc::new(IngestProgress::new());
            let req = request.ingest_request(path.clone(), progress.clone(), workers.parallel());
            // Stopped when this future is dropped too (a worker shut down mid-job), so that
            // the job's lease then expires.
            let beat = Heartbeat(tokio::spawn(heartbeat(
                pool.clone(),
                id,
                worker.clone(),
                progress.clone(),
            )));
            let result = onemap_access::publish::publish(&mut conn, &acting, &req).await;
            // A new survey year of a land-use layer: its trend summaries, in this job (the
            // heartbeat keeps the lease meanwhile). A failure is reported, the version stays.
            let precomputed = match &result {
                Ok(r) if !r.unchanged => {
                    onemap_trends::precompute_published(&mut conn, &r.layer, r.year).await
                }
                _ => None,
            };
            beat.stop().await;
            if let (Err(e), true) = (&result, conn.is_closed()) {
                audit_lost_connection(pool, &acting, &req, &e.to_string()).await;
            }
            result
                .map(|r| (r, precomputed, progress.snapshot()))
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    // The ingest's connection may be the one that failed (a killed backend): record the end
    // on a fresh one.
    drop(conn);
    let conn = pool
        .get()
        .await
        .map_err(|e| JobError::Pool(e.to_string()))?;
    let (state, report, error, rows, bytes_total) = match &outcome {
        Ok((report, precomputed, snapshot)) => (
            "succeeded",
            Some(job_report(report, precomputed.as_ref())?),
            None,
            Some(i64::try_from(snapshot.rows.max(report.features_read)).unwrap_or(i64::MAX)),
            i64::try_from(snapshot.bytes_total).ok().filter(|b| *b > 0),
        ),
        Err(e) => ("failed", None, Some(e.clone()), None, None),
    };
    conn.execute(
        include_str!("sql/finish_job.sql"),
        &[&id, &worker, &state, &report, &error, &rows, &bytes_total],
    )
    .await
    .map_err(JobError::pg("recording the job's end"))?;
    match &error {
        None => tracing::info!(job = id, "ingest job succeeded"),
        Some(e) => tracing::warn!(job = id, error = %e, "ingest job failed"),
    }
    if upload && error.is_none() {
        if let Err(e) = std::fs::remove_file(&path) {
            tracing::warn!(job = id, error = %e, "could not delete the uploaded file");
        }
    }
    Ok(ExecutionOutcome::TaskCompleted {
        id,
        succeeded: error.is_none(),
        error,
    })
}

/// The job's report: the ingest report, plus `trend_precompute` (its time, what it computed
/// or why it failed) when the version is a survey year of a land-use layer.
fn job_report(
    report: &onemap_ingest::IngestReport,
    precomputed: Option<&onemap_trends::PublishedPrecompute>,
) -> JobResult<Value> {
    let mut value = serde_json::to_value(report).map_err(|e| JobError::Invalid(e.to_string()))?;
    if let (Some(p), Some(object)) = (precomputed, value.as_object_mut()) {
        let p = serde_json::to_value(p).map_err(|e| JobError::Invalid(e.to_string()))?;
        object.insert("trend_precompute".to_owned(), p);
    }
    Ok(value)
}

/// The request and the principal to publish as: a user is looked up again, so that a user
/// disabled or demoted since the upload no longer publishes.
async fn job_inputs(client: &Client, row: &tokio_postgres::Row) -> JobResult<(JobRequest, Acting)> {
    let request: JobRequest = serde_json::from_value(row.get("request"))
        .map_err(|e| JobError::Invalid(format!("the job's request is unreadable: {e}")))?;
    let requester: Value = row.get("requester");
    let from = requester
        .get("from")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let who = match requester.get("kind").and_then(Value::as_str) {
        Some("operator") => Principal::Operator(
            requester
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("operator")
                .to_owned(),
        ),
        Some("user") => {
            let id = requester
                .get("id")
                .and_then(Value::as_i64)
                .and_then(|i| i32::try_from(i).ok())
                .unwrap_or(0);
            let user = client
                .query_opt(include_str!("sql/load_user.sql"), &[&id])
                .await
                .map_err(JobError::pg("reading the requester"))?
                .ok_or_else(|| {
                    JobError::Forbidden("the requester no longer exists or is disabled".into())
                })?;
            let role: String = user.get("role");
            Principal::User(User {
                id: user.get("id"),
                name: user.get("name"),
                department: user.get("department"),
                role: Role::parse(&role).unwrap_or(Role::Viewer),
            })
        }
        _ => return Err(JobError::Invalid("the job names no requester".into())),
    };
    Ok((request, Acting::new(who, from)))
}

/// Audits a failed ingest whose connection died with it (so `publish` could not).
async fn audit_lost_connection(
    pool: &deadpool_postgres::Pool,
    acting: &Acting,
    req: &IngestRequest,
    error: &str,
) {
    let result = async {
        let mut conn = pool.get().await.map_err(|e| e.to_string())?;
        onemap_access::audit::record(
            &mut conn,
            acting,
            "ingest.failure",
            Some(&req.layer),
            &json!({ "source_file": req.source_file(), "error": error }),
        )
        .await
        .map_err(|e| e.to_string())
    }
    .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "the failed ingest could not be audited");
    }
}

/// A running [`heartbeat`], aborted when dropped.
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Heartbeat {
    async fn stop(mut self) {
        self.0.abort();
        let _ = (&mut self.0).await;
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Writes the progress and renews the lease every [`HEARTBEAT`] until aborted.
async fn heartbeat(
    pool: deadpool_postgres::Pool,
    id: i64,
    worker: String,
    progress: Arc<IngestProgress>,
) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    loop {
        tick.tick().await;
        let s = progress.snapshot();
        let result = async {
            let conn = pool.get().await.map_err(|e| e.to_string())?;
            conn.execute(
                include_str!("sql/heartbeat.sql"),
                &[
                    &id,
                    &worker,
                    &i64::try_from(s.rows).unwrap_or(i64::MAX),
                    &s.bytes_read.and_then(|b| i64::try_from(b).ok()),
                    &i64::try_from(s.bytes_total).ok(),
                    &s.percent,
                ],
            )
            .await
            .map_err(|e| e.to_string())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(job = id, error = %e, "could not write the job's progress");
        }
    }
}

/// Runs jobs until `shutdown` completes: a job at a time, polling every second when the queue
/// is empty. A job in progress at shutdown is abandoned; its lease expires and another worker
/// takes it again.
pub async fn run_worker(pool: WorkerPool, shutdown: impl std::future::Future<Output = ()>) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let idle = tokio::select! {
            () = &mut shutdown => return,
            outcome = try_execute_job(&pool) => match outcome {
                Ok(ExecutionOutcome::EmptyQueue) => true,
                Ok(ExecutionOutcome::TaskCompleted { .. }) => false,
                Err(e) => {
                    tracing::error!(error = %e, "the ingest queue failed");
                    true
                }
            },
        };
        if idle {
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}
