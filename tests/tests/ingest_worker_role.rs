//! Which database role ingest publishes with: `onemap_writer` (`onemap_jobs::WORKER_ROLE`),
//! for the workers (`onemap worker`, the worker inside `onemap serve`) and `onemap ingest`.
//! Migration V13 makes it the owner of `onemap.features`, since PostgreSQL lets only the owner
//! attach a version's partition; the reader still only reads and the trail stays append-only.

mod helpers;

use helpers::ingest_checks::{first_column, succeeded};
use helpers::{fixture, TestDb};
use onemap_access::{Acting, Principal};
use onemap_jobs::{JobFile, JobRequest};
use onemap_tile_server::{with_role, READ_ROLE, WRITE_ROLE};

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

/// The owner of `onemap.features` and of every partition of it.
async fn owners(db: &TestDb) -> Vec<String> {
    first_column(
        &db.client().await,
        "SELECT DISTINCT pg_get_userbyid(c.relowner)::text FROM pg_class c
          WHERE c.oid = 'onemap.features'::regclass
             OR c.oid IN (SELECT inhrelid FROM pg_inherits
                           WHERE inhparent = 'onemap.features'::regclass)",
        &[],
    )
    .await
}

#[tokio::test]
async fn the_worker_pool_runs_a_job_end_to_end_as_onemap_writer() {
    let db = TestDb::new().await;
    assert_eq!(onemap_jobs::WORKER_ROLE, WRITE_ROLE);
    // Over two COPY streams (whatever ONEMAP_INGEST_STREAMS says): the staging table's
    // connection must assume onemap_writer too, or the partition's owner below would differ.
    let pool = onemap_jobs::worker_pool(&db.url)
        .await
        .unwrap()
        .with_streams(2);
    let (current, session) = roles_of(pool.connections()).await;
    assert_eq!(current, WRITE_ROLE);
    assert_ne!(session, WRITE_ROLE, "the login role assumes onemap_writer");

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
    assert_eq!(outcome, succeeded(id));
    let job = onemap_jobs::get(&client, &Principal::Operator("t".into()), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.state, "succeeded");
    assert!(job.rows > 0);
    assert_eq!(versions_and_partitions(&db).await, (1, 1));
    // The partition was created by the job's role (on the staging connection), so the job
    // ran as onemap_writer.
    assert_eq!(owners(&db).await, vec![WRITE_ROLE.to_owned()]);
    let features: i64 = client
        .query_one(
            "SELECT count(*) FROM onemap.features f JOIN onemap.layer_versions v
                 ON v.id = f.version_id JOIN onemap.layers l ON l.key = v.layer_key
              WHERE l.id = $1",
            &[&LAYER],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(features, job.rows);
}

#[tokio::test]
async fn onemap_ingest_publishes_through_the_worker_url_as_onemap_writer() {
    let db = TestDb::new().await;
    let url = onemap_jobs::worker_url(&db.url).await.unwrap();
    let mut client = onemap_schemas::database::connect(&url).await.unwrap();
    let current: String = client
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(current, WRITE_ROLE);
    let request = onemap_ingest::IngestRequest {
        path: fixture("tiles/parcels_4326.geojson"),
        layer: LAYER.into(),
        department: "zrzy".into(),
        year: Some(2024),
        ..onemap_ingest::IngestRequest::default()
    };
    let report = onemap_access::publish::publish(&mut client, &Acting::operator("test"), &request)
        .await
        .unwrap();
    assert!(report.features_written > 0);
    assert_eq!(versions_and_partitions(&db).await, (1, 1));
    assert_eq!(owners(&db).await, vec![WRITE_ROLE.to_owned()]);
}

#[tokio::test]
async fn owning_the_features_gives_the_reader_nothing_and_leaves_the_trail_append_only() {
    let db = TestDb::new().await;
    let pool = onemap_jobs::worker_pool(&db.url).await.unwrap();
    let client = db.client().await;
    let id = onemap_jobs::enqueue(
        &client,
        &Acting::operator("test"),
        &job_request(),
        &job_file(),
    )
    .await
    .unwrap();
    onemap_jobs::try_execute_job(&pool).await.unwrap();
    assert_eq!(
        onemap_jobs::get(&client, &Principal::Operator("t".into()), id)
            .await
            .unwrap()
            .unwrap()
            .state,
        "succeeded"
    );

    let reader = onemap_schemas::database::connect(&with_role(&db.url, READ_ROLE))
        .await
        .unwrap();
    for sql in [
        "INSERT INTO onemap.features (version_id, fid, props, geom)
             SELECT version_id, fid + 1000000, props, geom FROM onemap.features LIMIT 1",
        "UPDATE onemap.features SET props = '{}'",
        "DELETE FROM onemap.features",
        "ALTER TABLE onemap.features ADD COLUMN x int",
    ] {
        let err = reader.batch_execute(sql).await.unwrap_err();
        assert_eq!(
            err.code(),
            Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
            "onemap_reader ran {sql:?}: {err:?}"
        );
    }
    let writer = onemap_schemas::database::connect(&with_role(&db.url, WRITE_ROLE))
        .await
        .unwrap();
    let audited: i64 = writer
        .query_one("SELECT count(*) FROM onemap.audit", &[])
        .await
        .unwrap()
        .get(0);
    assert!(audited > 0, "the publication is in the trail");
    for sql in [
        "UPDATE onemap.audit SET action = action",
        "DELETE FROM onemap.audit",
        "TRUNCATE onemap.audit",
        "ALTER TABLE onemap.audit DISABLE TRIGGER audit_append_only",
    ] {
        assert!(
            writer.batch_execute(sql).await.is_err(),
            "onemap_writer ran {sql:?} on the audit trail"
        );
    }
    let still: i64 = client
        .query_one("SELECT count(*) FROM onemap.audit", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(still, audited);
}
