//! Which database role the ingest workers (`onemap worker`, the worker inside `onemap serve`)
//! publish with, and why: `onemap_writer` may do everything a publication needs except
//! `ALTER TABLE onemap.features ATTACH PARTITION`, which PostgreSQL allows only to the owner of
//! `onemap.features`. So the workers keep the login role (`onemap_jobs::WORKER_ROLE` is `None`).
//! When a migration makes `onemap_writer` the owner, the second test fails: switch the workers
//! to `onemap_tile_server::with_role(url, WRITE_ROLE)` then.

mod helpers;

use helpers::{fixture, TestDb};
use onemap_access::{Acting, Principal};
use onemap_jobs::{ExecutionOutcome, JobFile, JobRequest};
use onemap_tile_server::{with_role, WRITE_ROLE};

const LAYER: &str = "role_parcels";

fn job_request() -> JobRequest {
    JobRequest {
        layer: LAYER.into(),
        department: "zrzy".into(),
        year: Some(2024),
        ..JobRequest::default()
    }
}

fn job_file() -> JobFile {
    JobFile {
        path: fixture("tiles/parcels_4326.geojson"),
        original_name: Some("parcels_4326.geojson".into()),
        upload: false,
    }
}

/// `current_user` and `session_user` of a connection from `pool`.
async fn roles_of(pool: &deadpool_postgres::Pool) -> (String, String) {
    let conn = pool.get().await.unwrap();
    let row = conn
        .query_one("SELECT current_user::text, session_user::text", &[])
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// Published versions of the test layer, and partitions of onemap.features (attached or not).
async fn versions_and_partitions(db: &TestDb) -> (i64, i64) {
    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM onemap.layer_versions v JOIN onemap.layers l ON l.key = v.layer_key
                      WHERE l.id = $1),
                    (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = 'onemap' AND c.relname LIKE 'features\\_v%'
                        AND c.relkind = 'r')",
            &[&LAYER],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test]
async fn the_worker_pool_runs_a_job_end_to_end_as_the_login_role() {
    let db = TestDb::new().await;
    assert_eq!(onemap_jobs::WORKER_ROLE, None);
    let pool = onemap_jobs::worker_pool(&db.url).unwrap();
    let (current, session) = roles_of(&pool).await;
    assert_eq!(current, session, "the worker assumes no other role");
    assert_ne!(current, WRITE_ROLE);

    let client = db.client().await;
    let id = onemap_jobs::enqueue(
        &client,
        &Acting::operator("test"),
        &job_request(),
        &job_file(),
    )
    .await
    .unwrap();
    let outcome = onemap_jobs::try_execute_job(&pool).await.unwrap();
    assert_eq!(
        outcome,
        ExecutionOutcome::TaskCompleted {
            id,
            succeeded: true,
            error: None
        }
    );
    let job = onemap_jobs::get(&client, &Principal::Operator("t".into()), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.state, "succeeded");
    assert!(job.rows > 0);
    assert_eq!(versions_and_partitions(&db).await, (1, 1));
}

#[tokio::test]
async fn a_worker_pool_as_onemap_writer_cannot_attach_the_partition_and_publishes_nothing() {
    let db = TestDb::new().await;
    let pool = onemap_jobs::pool(&with_role(&db.url, WRITE_ROLE), 3).unwrap();
    assert_eq!(roles_of(&pool).await.0, WRITE_ROLE);

    let client = db.client().await;
    let id = onemap_jobs::enqueue(
        &client,
        &Acting::operator("test"),
        &job_request(),
        &job_file(),
    )
    .await
    .unwrap();
    // Everything before the ATTACH is allowed to onemap_writer (queue, layer, version row,
    // partition, COPY, indexes); the ATTACH needs the owner of onemap.features.
    let ExecutionOutcome::TaskCompleted {
        id: ran,
        succeeded,
        error,
    } = onemap_jobs::try_execute_job(&pool).await.unwrap()
    else {
        panic!("the job was not taken");
    };
    assert_eq!(ran, id);
    assert!(!succeeded);
    let error = error.unwrap();
    assert!(
        error.contains("indexing and attaching the partition"),
        "onemap_writer failed for another reason than ATTACH: {error}"
    );
    let owner: String = client
        .query_one(
            "SELECT tableowner::text FROM pg_tables
              WHERE schemaname = 'onemap' AND tablename = 'features'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_ne!(owner, WRITE_ROLE, "onemap_writer owns onemap.features now");
    assert_eq!(
        versions_and_partitions(&db).await,
        (0, 0),
        "a failed publication leaves nothing behind"
    );
}
