//! `onemap survey sync` publishes with ingest's own role, `onemap_writer`, like `onemap ingest`
//! and the job workers: the survey year's partition of `onemap.features` is owned by it.

#[path = "../../tests/tests/helpers/mod.rs"]
mod helpers;

use std::process::Command;

use helpers::TestDb;

#[tokio::test]
async fn survey_sync_creates_the_years_partition_as_onemap_writer() {
    let db = TestDb::new().await;
    let out = Command::new(env!("CARGO_BIN_EXE_onemap"))
        .args([
            "survey",
            "sync",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/fixtures/ingest/shandan_parcels_4326.geojson"
            ),
            "--year",
            "2024",
            "--json",
        ])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let client = db.client().await;
    let rows = client
        .query(
            "SELECT c.relname::text, pg_get_userbyid(c.relowner)::text, v.year
               FROM onemap.layer_versions v
               JOIN pg_class c ON c.oid = format('onemap.features_v%s', v.id)::regclass",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one survey year published");
    let (partition, owner, year): (String, String, Option<i32>) =
        (rows[0].get(0), rows[0].get(1), rows[0].get(2));
    assert_eq!(year, Some(2024));
    assert_eq!(owner, "onemap_writer", "{partition} is owned by {owner}");
    let features: i64 = client
        .query_one(
            "SELECT count(*) FROM onemap.features f JOIN onemap.layer_versions v
                 ON v.id = f.version_id WHERE v.year = 2024",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(features, 6);
}
