//! The ingest job queue and what survives a failure: jobs taken once with SKIP LOCKED, jobs of a
//! killed worker taken again after their lease, and a database connection killed in the middle
//! of a COPY, which must leave the published version exactly as it was and the job failed with
//! its reason, ready to be retried.

mod helpers;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

/// Rows of one version, and a checksum over all of them.
async fn version_rows(client: &Client, version_id: i64) -> (i64, String) {
    let row = client
        .query_one(
            "SELECT count(*), coalesce(md5(string_agg(fid::text || props::text || ST_AsEWKB(geom)::text, ',' ORDER BY fid)), '')
             FROM onemap.features WHERE version_id = $1",
            &[&version_id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
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

/// A GeoJSON file of `n` small square parcels near Shandan, generated for the test.
fn large_geojson(n: usize) -> (tempfile_dir::Dir, PathBuf) {
    let dir = tempfile_dir::Dir::new();
    let path = dir.0.join("large_parcels_2025.geojson");
    let mut text = String::with_capacity(n * 230);
    text.push_str(r#"{"type":"FeatureCollection","features":["#);
    for i in 0..n {
        let x = 100.8 + (i % 1000) as f64 * 0.0005;
        let y = 38.5 + (i / 1000) as f64 * 0.0005;
        let d = 0.0004;
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!(
            r#"{{"type":"Feature","properties":{{"n":{i},"name":"parcel {i}","DLBM":"0101"}},"geometry":{{"type":"Polygon","coordinates":[[[{x},{y}],[{x2},{y}],[{x2},{y2}],[{x},{y2}],[{x},{y}]]]}}}}"#,
            x2 = x + d,
            y2 = y + d
        ));
    }
    text.push_str("]}");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// A scratch folder removed at the end of the test.
mod tempfile_dir {
    pub struct Dir(pub std::path::PathBuf);

    impl Dir {
        pub fn new() -> Self {
            let path = std::env::temp_dir().join(format!(
                "onemap-faults-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            ));
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
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
    assert_eq!(
        outcome,
        ExecutionOutcome::TaskCompleted {
            id,
            succeeded: true,
            error: None
        }
    );
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
    client
        .execute(
            "UPDATE onemap.ingest_jobs SET heartbeat_at = clock_timestamp() - interval '1 hour'
             WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let outcome = onemap_jobs::try_execute_job(&pool).await.unwrap();
    assert!(
        matches!(outcome, ExecutionOutcome::TaskCompleted { id: i, succeeded: true, .. } if i == id),
        "{outcome:?}"
    );
    let job = onemap_jobs::get(&client, &Principal::Operator("t".into()), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((job.state.as_str(), job.attempts), ("succeeded", 2));

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
    let job = onemap_jobs::get(&client, &Principal::Operator("t".into()), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.state, "failed");
    assert!(job.error.unwrap().contains("worker stopped"));
}

#[tokio::test]
async fn killing_the_database_connection_mid_copy_leaves_version_1_intact_and_the_job_retryable() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let v1 = publish_version_1(&mut client).await;
    let before = version_rows(&client, v1).await;
    assert!(before.0 > 0);
    assert_eq!(versions_and_partitions(&client).await, (1, 1));

    let (_dir, large) = large_geojson(200_000);
    let pool = onemap_jobs::pool(&db.url, 3).unwrap();
    let id = onemap_jobs::enqueue(&client, &operator(), &job_request(2025), &job_file(&large))
        .await
        .unwrap();
    let worker = tokio::spawn({
        let pool = pool.clone();
        async move { onemap_jobs::try_execute_job(&pool).await }
    });

    // Wait for the COPY to run and its progress to show in the job row, then kill it.
    let started = Instant::now();
    let mut copy_seen = None;
    let mut rows_seen: i64;
    let killed = loop {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the COPY never showed up in pg_stat_activity"
        );
        assert!(
            !worker.is_finished(),
            "the ingest finished before it was killed"
        );
        let copying = client
            .query(
                "SELECT pid FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()
                   AND query ILIKE 'COPY%'",
                &[],
            )
            .await
            .unwrap();
        if !copying.is_empty() {
            let seen_at = *copy_seen.get_or_insert_with(Instant::now);
            rows_seen = client
                .query_one(
                    "SELECT rows_read FROM onemap.ingest_jobs WHERE id = $1",
                    &[&id],
                )
                .await
                .unwrap()
                .get(0);
            if rows_seen > 0 || seen_at.elapsed() > Duration::from_secs(3) {
                let n = client
                    .query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                         WHERE datname = current_database() AND pid <> pg_backend_pid()
                           AND query ILIKE 'COPY%'",
                        &[],
                    )
                    .await
                    .unwrap()
                    .len();
                break n;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(killed, 1);
    eprintln!(
        "killed the COPY after {:.1?} with {rows_seen} rows reported in the job",
        started.elapsed()
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

    // Version 1 exactly as it was, and nothing left of version 2.
    assert_eq!(version_rows(&client, v1).await, before);
    assert_eq!(versions_and_partitions(&client).await, (1, 1));
    let job = onemap_jobs::get(&client, &Principal::Operator("t".into()), id)
        .await
        .unwrap()
        .unwrap();
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
    let job = onemap_jobs::get(&client, &Principal::Operator("t".into()), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.state, "succeeded");
    assert_eq!(job.rows, 200_000);
    assert_eq!(version_rows(&client, v1).await, before);
    assert_eq!(versions_and_partitions(&client).await, (2, 2));
}
