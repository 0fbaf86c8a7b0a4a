//! The ingest job queue and what survives a failure: jobs taken once with SKIP LOCKED, jobs of a
//! killed worker taken again after their lease, and database connections killed in the middle
//! of a COPY (every stream of a parallel load, or the one COPY of a one-stream load), which must
//! leave the published version exactly as it was, no staging table anyone can see, and the job
//! failed with its reason, ready to be retried. Jobs load over several COPY streams as
//! `onemap ingest` does: an uploaded job stores exactly the rows of a one-stream ingest.

mod helpers;

use std::path::Path;
use std::time::{Duration, Instant};

use helpers::ingest_checks::{
    first_column, ingest_connections_gone, large_geojson, scratch, server_config, staging_tables,
    stored_rows, succeeded, Scratch,
};
use helpers::{fixture, TestDb};
use onemap_access::{publish, Acting, Principal};
use onemap_ingest::IngestRequest;
use onemap_jobs::{ExecutionOutcome, JobFile, JobRequest};
use tokio_postgres::Client;

const LAYER: &str = "fault_parcels";
const DEPARTMENT: &str = "zrzy";

fn operator() -> Acting {
    Acting::operator("test")
}

fn job_request(year: i32) -> JobRequest {
    JobRequest {
        layer: LAYER.into(),
        department: DEPARTMENT.into(),
        year: Some(year),
        ..JobRequest::default()
    }
}

fn job_file(path: &Path) -> JobFile {
    JobFile {
        path: path.to_owned(),
        original_name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
        upload: false,
    }
}

/// Stops the job's heartbeat longer than the lease ago, as if its worker had been killed.
async fn expire_heartbeat(client: &Client, id: i64) {
    client
        .execute(
            "UPDATE onemap.ingest_jobs SET heartbeat_at = clock_timestamp() - interval '1 hour'
             WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
}

/// The job `id` as an operator sees it.
async fn job_of(client: &Client, id: i64) -> onemap_jobs::Job {
    onemap_jobs::get(client, &Principal::Operator("t".into()), id)
        .await
        .unwrap()
        .unwrap()
}

/// Runs the next job, which must be job `id` taken a second time and succeeding; gives the job.
async fn taken_again_and_succeeded(
    pool: &onemap_jobs::WorkerPool,
    client: &Client,
    id: i64,
) -> onemap_jobs::Job {
    let outcome = onemap_jobs::try_execute_job(pool).await.unwrap();
    assert!(
        matches!(outcome, ExecutionOutcome::TaskCompleted { id: i, succeeded: true, .. } if i == id),
        "{outcome:?}"
    );
    let job = job_of(client, id).await;
    assert_eq!((job.state.as_str(), job.attempts), ("succeeded", 2));
    job
}

/// Enqueues a job of 200 000 generated parcels (year 2025) and starts a worker of `pool` on it;
/// gives the file's scratch folder, the job and the running worker.
async fn start_large_job(
    client: &Client,
    pool: &onemap_jobs::WorkerPool,
) -> (
    Scratch,
    i64,
    tokio::task::JoinHandle<onemap_jobs::JobResult<ExecutionOutcome>>,
) {
    let dir = scratch("faults");
    let large = large_geojson(&dir, 200_000, Some("0101"));
    let id = onemap_jobs::enqueue(client, &operator(), &job_request(2025), &job_file(&large))
        .await
        .unwrap();
    let worker = tokio::spawn({
        let pool = pool.clone();
        async move { onemap_jobs::try_execute_job(&pool).await }
    });
    (dir, id, worker)
}

/// Publishes the fixture parcels as version 1 (year 2024) and returns its id.
async fn publish_version_1(client: &mut Client) -> i64 {
    let id = publish::publish(
        client,
        &operator(),
        &IngestRequest {
            path: fixture("tiles/parcels_4326.geojson"),
            layer: LAYER.into(),
            department: DEPARTMENT.into(),
            year: Some(2024),
            ..IngestRequest::default()
        },
    )
    .await
    .unwrap()
    .version_id;
    // These tests are about COPY faults, not trends: as a plain polygon layer (no class
    // field), a retried job is the ingest alone, without the survey-year trend precompute
    // that a land-use layer gets after every publication.
    client
        .execute(
            "UPDATE onemap.layers SET class_field = NULL WHERE id = $1",
            &[&LAYER],
        )
        .await
        .unwrap();
    id
}

/// Version rows and partitions in the database.
async fn versions_and_partitions(client: &Client) -> (i64, i64) {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM onemap.layer_versions),
                    (SELECT count(*) FROM pg_tables
                     WHERE schemaname = 'onemap' AND tablename LIKE 'features\\_v%')",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test]
async fn a_queued_job_is_taken_once_and_records_its_report() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let pool = onemap_jobs::pool(&db.url, 3).unwrap();
    let file = fixture("tiles/parcels_4326.geojson");
    let id = onemap_jobs::enqueue(&client, &operator(), &job_request(2024), &job_file(&file))
        .await
        .unwrap();
    let admin = Principal::Operator("test".into());
    let queued = onemap_jobs::get(&client, &admin, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(queued.state, "queued");

    let outcome = onemap_jobs::try_execute_job(&pool).await.unwrap();
    assert_eq!(outcome, succeeded(id));
    assert_eq!(
        onemap_jobs::try_execute_job(&pool).await.unwrap(),
        ExecutionOutcome::EmptyQueue
    );
    let job = onemap_jobs::get(&client, &admin, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.state, "succeeded");
    assert_eq!(job.attempts, 1);
    assert_eq!(job.percent, Some(100.0));
    let report = job.report.expect("a report");
    let written = report["features_written"].as_i64().unwrap();
    assert!(written > 0, "{report}");
    assert_eq!(job.rows, report["features_read"].as_i64().unwrap());
    assert_eq!(
        job.bytes,
        Some(std::fs::metadata(&file).unwrap().len() as i64)
    );
    assert_eq!(report["source_file"], "parcels_4326.geojson");
    // Published as the requester, and audited as a publication.
    let by: String = client
        .query_one("SELECT ingested_by FROM onemap.layer_versions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(by, "test");
}

#[tokio::test]
async fn a_running_job_is_taken_again_only_once_its_workers_lease_has_expired() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let pool = onemap_jobs::pool(&db.url, 3).unwrap();
    let file = fixture("tiles/parcels_4326.geojson");
    let id = onemap_jobs::enqueue(&client, &operator(), &job_request(2024), &job_file(&file))
        .await
        .unwrap();
    // A worker took it and is alive (fresh heartbeat): nobody else takes it.
    client
        .execute(
            "UPDATE onemap.ingest_jobs SET state = 'running', attempts = 1, worker = 'gone',
                    heartbeat_at = clock_timestamp() WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(
        onemap_jobs::try_execute_job(&pool).await.unwrap(),
        ExecutionOutcome::EmptyQueue
    );
    // The worker was killed: its heartbeat stopped longer than the lease ago.
    expire_heartbeat(&client, id).await;
    taken_again_and_succeeded(&pool, &client, id).await;

    // A job whose worker died on every attempt is failed, not retried for ever.
    let id = onemap_jobs::enqueue(&client, &operator(), &job_request(2025), &job_file(&file))
        .await
        .unwrap();
    client
        .execute(
            "UPDATE onemap.ingest_jobs SET state = 'running', attempts = $2, worker = 'gone',
                    heartbeat_at = clock_timestamp() - interval '1 hour' WHERE id = $1",
            &[&id, &onemap_jobs::MAX_ATTEMPTS],
        )
        .await
        .unwrap();
    assert_eq!(
        onemap_jobs::try_execute_job(&pool).await.unwrap(),
        ExecutionOutcome::EmptyQueue
    );
    let job = job_of(&client, id).await;
    assert_eq!(job.state, "failed");
    assert!(job.error.unwrap().contains("worker stopped"));
}

/// Backends of the load's COPYs: with parallel loading, its streams (by their application
/// name, copying or between chunks); else every backend running a COPY.
async fn copy_backends(client: &Client, streams: usize) -> Vec<i32> {
    let sql = if streams >= 2 {
        "SELECT pid FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = $1
           AND query ILIKE 'COPY%'"
    } else {
        "SELECT pid FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()
           AND query ILIKE 'COPY%' AND application_name <> $1"
    };
    first_column(client, sql, &[&onemap_ingest::STREAM_APPLICATION]).await
}

/// Counts of the rows of `onemap.features` a reader (`onemap_reader`) sees.
async fn rows_readers_see(db: &TestDb) -> i64 {
    let reader = db.client().await;
    reader
        .batch_execute("SET ROLE onemap_reader")
        .await
        .unwrap();
    reader
        .query_one("SELECT count(*) FROM onemap.features", &[])
        .await
        .unwrap()
        .get(0)
}

/// Waits until the job's `streams` COPYs run and the job row shows rows read; gives their
/// backends and the rows read.
async fn wait_for_copy(
    client: &Client,
    id: i64,
    streams: usize,
    worker: &tokio::task::JoinHandle<impl Sized>,
) -> (Vec<i32>, i64) {
    let started = Instant::now();
    let mut copy_seen = None;
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the COPY never showed up in pg_stat_activity"
        );
        assert!(
            !worker.is_finished(),
            "the ingest finished before it was killed"
        );
        let pids = copy_backends(client, streams).await;
        if pids.len() >= streams {
            let seen_at = *copy_seen.get_or_insert_with(Instant::now);
            let rows_seen: i64 = client
                .query_one(
                    "SELECT rows_read FROM onemap.ingest_jobs WHERE id = $1",
                    &[&id],
                )
                .await
                .unwrap()
                .get(0);
            if rows_seen > 0 || seen_at.elapsed() > Duration::from_secs(3) {
                return (pids, rows_seen);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A job of 200 000 parcels whose COPY connections are killed in the middle of the load (all
/// `streams` of a parallel load, or the one COPY): the job fails naming the file and the lost
/// connection; version 1 stays exactly as it was and nothing is left of version 2 (no staging
/// table); retried, the job succeeds.
async fn kill_the_copy_of_a_job(streams: usize) {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let v1 = publish_version_1(&mut client).await;
    let before = stored_rows(&client, v1).await;
    assert!(before.0 > 0);
    assert_eq!(versions_and_partitions(&client).await, (1, 1));

    let pool = onemap_jobs::pool(&db.url, 3).unwrap().with_streams(streams);
    assert_eq!(pool.streams(), streams);
    let (_dir, id, worker) = start_large_job(&client, &pool).await;

    // Wait for the COPYs to run and the progress to show in the job row, then kill them all.
    let (pids, rows_seen) = wait_for_copy(&client, id, streams, &worker).await;
    assert_eq!(pids.len(), streams, "{pids:?}");
    for pid in &pids {
        let killed: bool = client
            .query_one("SELECT pg_terminate_backend($1)", &[pid])
            .await
            .unwrap()
            .get(0);
        assert!(killed, "backend {pid}");
    }
    eprintln!(
        "killed {streams} COPY connection(s) with {rows_seen} rows reported in the job",
        streams = pids.len()
    );
    assert!(rows_seen > 0, "the job row never showed the rows read");

    let outcome = worker.await.unwrap().unwrap();
    let ExecutionOutcome::TaskCompleted {
        id: done,
        succeeded: false,
        error: Some(error),
    } = outcome
    else {
        panic!("the killed ingest did not fail: {outcome:?}");
    };
    assert_eq!(done, id);
    eprintln!("the job failed with: {error}");
    assert!(
        error.contains("large_parcels_2025.geojson"),
        "the error names the file: {error}"
    );

    // Version 1 exactly as it was, and nothing left of version 2: no version row, no
    // partition, no staging table; readers see version 1's rows only.
    assert_eq!(stored_rows(&client, v1).await, before);
    assert_eq!(versions_and_partitions(&client).await, (1, 1));
    assert!(staging_tables(&client).await.is_empty());
    assert_eq!(rows_readers_see(&db).await, before.0);
    let job = job_of(&client, id).await;
    assert_eq!(job.state, "failed");
    assert_eq!(job.error.as_deref(), Some(error.as_str()));
    assert!(
        error.contains("terminat") || error.contains("closed") || error.contains("connection"),
        "the reason says the connection was lost: {error}"
    );

    // Retried, it succeeds.
    assert!(
        onemap_jobs::retry(&client, &Principal::Operator("t".into()), id)
            .await
            .unwrap()
    );
    let outcome = onemap_jobs::try_execute_job(&pool).await.unwrap();
    assert!(
        matches!(
            outcome,
            ExecutionOutcome::TaskCompleted {
                succeeded: true,
                ..
            }
        ),
        "{outcome:?}"
    );
    let job = job_of(&client, id).await;
    assert_eq!(job.state, "succeeded");
    assert_eq!(job.rows, 200_000);
    assert_eq!(stored_rows(&client, v1).await, before);
    assert_eq!(versions_and_partitions(&client).await, (2, 2));
    assert!(staging_tables(&client).await.is_empty());
}

#[tokio::test]
async fn killing_every_copy_stream_of_a_parallel_job_leaves_version_1_intact_and_the_job_retryable()
{
    kill_the_copy_of_a_job(3).await;
}

#[tokio::test]
async fn killing_the_one_copy_of_a_one_stream_job_leaves_version_1_intact_and_the_job_retryable() {
    kill_the_copy_of_a_job(1).await;
}

#[tokio::test]
async fn a_worker_killed_mid_parallel_copy_leaves_nothing_visible_and_the_job_succeeds_when_taken_again(
) {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let v1 = publish_version_1(&mut client).await;
    let before = stored_rows(&client, v1).await;

    let pool = onemap_jobs::pool(&db.url, 3).unwrap().with_streams(2);
    // The worker is killed in the middle of the COPY: here its task is dropped, so its
    // connections close without any clean-up and its heartbeat stops.
    let (_dir, id, worker) = start_large_job(&client, &pool).await;
    wait_for_copy(&client, id, 2, &worker).await;
    worker.abort();
    assert!(worker.await.unwrap_err().is_cancelled());
    drop(pool);
    let started = Instant::now();
    loop {
        if ingest_connections_gone(&client).await {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the worker's COPY connections stayed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Its staging table may stay behind, but nobody reads it; version 1 is as it was and the
    // job still runs, as far as the queue knows.
    let left = staging_tables(&client).await;
    eprintln!("the killed worker left {left:?}");
    assert!(left.len() <= 1, "{left:?}");
    assert_eq!(rows_readers_see(&db).await, before.0);
    assert_eq!(stored_rows(&client, v1).await, before);
    let versions: i64 = client
        .query_one("SELECT count(*) FROM onemap.layer_versions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(versions, 1);
    let job = job_of(&client, id).await;
    assert_eq!((job.state.as_str(), job.attempts), ("running", 1));

    // Once its lease has expired, another worker takes the job again, sweeps the staging
    // table and publishes.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let beat: bool = client
        .query_one(
            "SELECT heartbeat_at < clock_timestamp() - interval '1 second'
             FROM onemap.ingest_jobs WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(beat, "the killed worker's heartbeat went on");
    expire_heartbeat(&client, id).await;
    let pool = onemap_jobs::pool(&db.url, 3).unwrap().with_streams(2);
    let job = taken_again_and_succeeded(&pool, &client, id).await;
    assert_eq!(job.rows, 200_000);
    assert!(staging_tables(&client).await.is_empty());
    assert_eq!(versions_and_partitions(&client).await, (2, 2));
    assert_eq!(stored_rows(&client, v1).await, before);
}

#[tokio::test]
async fn an_uploaded_job_stores_exactly_the_rows_of_a_one_stream_ingest_of_the_same_file() {
    use helpers::http::{self, Req};
    use onemap_access::{tokens, users, Role};
    use onemap_tile_server::{app, AppState};

    let db = TestDb::new().await;
    let mut client = db.client().await;
    users::add(
        &mut client,
        &operator(),
        "uploader",
        DEPARTMENT,
        Role::Editor,
        None,
    )
    .await
    .unwrap();
    let (_, token) = tokens::create(&mut client, &operator(), "uploader", "test")
        .await
        .unwrap();
    let server = app(AppState::new(&server_config(&db, 0)).await.unwrap());
    // As `onemap serve` and `onemap worker` run jobs (as onemap_writer), over three streams.
    let workers = onemap_jobs::worker_pool(&db.url)
        .await
        .unwrap()
        .with_streams(3);

    // A file large enough to be split across the streams (50 000 parcels, about a dozen
    // chunks), and a Gauss-Krüger GeoPackage (areas and Web-Mercator copies derived by the
    // client from projected coordinates).
    let dir = scratch("faults");
    let large = large_geojson(&dir, 50_000, Some("0101"));
    let files = [large, fixture("ingest/shandan_parcels_4522.gpkg")];
    for (i, file) in files.iter().enumerate() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let mut body = format!(
            "--XBOUNDARYX\r\nContent-Disposition: form-data; name=\"department\"\r\n\r\n{DEPARTMENT}\r\n\
             --XBOUNDARYX\r\nContent-Disposition: form-data; name=\"year\"\r\n\r\n2025\r\n\
             --XBOUNDARYX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend(std::fs::read(file).unwrap());
        body.extend_from_slice(b"\r\n--XBOUNDARYX--\r\n");
        let layer = format!("uploaded_{i}");
        let answer = http::send(
            &server,
            axum::http::Method::POST,
            &format!("/api/layers/{layer}/versions"),
            Req {
                bearer: Some(&token),
                body_bytes: Some(body),
                content_type: Some("multipart/form-data; boundary=XBOUNDARYX"),
                ..Req::default()
            },
        )
        .await;
        assert_eq!(answer.status.as_u16(), 202, "{name}: {}", answer.body);
        let id = answer.json()["job"].as_i64().unwrap();
        let outcome = onemap_jobs::try_execute_job(&workers).await.unwrap();
        assert_eq!(outcome, succeeded(id), "{name}");
        let job = job_of(&client, id).await;
        let job_report = job.report.unwrap();
        let job_version = job_report["version_id"].as_i64().unwrap();

        // The same file through `onemap ingest`'s publication, in one COPY stream.
        let serial = publish::publish(
            &mut client,
            &operator(),
            &IngestRequest {
                path: file.clone(),
                layer: format!("ingested_{i}"),
                department: DEPARTMENT.into(),
                year: Some(2025),
                ..IngestRequest::default()
            },
        )
        .await
        .unwrap();
        let rows = stored_rows(&client, serial.version_id).await;
        assert!(rows.0 > 0, "{name}: nothing stored");
        assert_eq!(
            stored_rows(&client, job_version).await,
            rows,
            "{name}: the job stored other rows than the one-stream ingest"
        );
        assert_eq!(job.rows, i64::try_from(serial.features_read).unwrap());
        for key in [
            "features_read",
            "features_written",
            "features_repaired",
            "features_rejected",
            "srid",
            "bbox",
            "sha256",
        ] {
            assert_eq!(
                job_report[key],
                serde_json::to_value(&serial).unwrap()[key],
                "{name}: {key}"
            );
        }
        eprintln!("{name}: {} rows, identical", rows.0);
    }
    assert!(staging_tables(&client).await.is_empty());
    assert_eq!(versions_and_partitions(&client).await, (4, 4));
}
