//! Parallel loading (`IngestRequest::parallel`): several COPY streams into a committed but
//! unattached, hidden staging table, indexed on two connections, attached in the publishing
//! transaction. It must store exactly what the one-stream load stores, and keep every guarantee
//! of a publication: a killed stream leaves the previous version as it was and a retry works;
//! a staging table left by a killed loader is never visible to readers and is swept.

mod helpers;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use helpers::ingest_checks::{
    first_column, ingest_connections_gone, large_geojson, scratch, staging_tables, stored_rows,
};
use helpers::{fixture, TestDb};
use onemap_ingest::{ingest, sweep_staging, IngestReport, IngestRequest, ParallelCopy};
use tokio_postgres::Client;

fn request(path: PathBuf, layer: &str, year: i32) -> IngestRequest {
    IngestRequest {
        path,
        layer: layer.into(),
        department: "zrzy".into(),
        year: Some(year),
        ingested_by: "tests".into(),
        ..IngestRequest::default()
    }
}

fn parallel(db: &TestDb, streams: usize) -> Option<ParallelCopy> {
    Some(ParallelCopy {
        url: db.url.clone(),
        streams,
    })
}

/// Staging tables (attached or not, marked or not: every `features_v*` table) and versions.
async fn tables_and_versions(client: &Client) -> (i64, i64) {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM pg_tables
                     WHERE schemaname = 'onemap' AND tablename ~ '^features_v[0-9]+$'),
                    (SELECT count(*) FROM onemap.layer_versions)",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

fn same_report(serial: &IngestReport, parallel: &IngestReport) {
    assert_eq!(parallel.features_read, serial.features_read);
    assert_eq!(parallel.features_written, serial.features_written);
    assert_eq!(parallel.features_repaired, serial.features_repaired);
    assert_eq!(parallel.features_rejected, serial.features_rejected);
    assert_eq!(parallel.rejections, serial.rejections);
    assert_eq!(parallel.notes, serial.notes);
    assert_eq!(parallel.geometry_type, serial.geometry_type);
    assert_eq!(parallel.srid, serial.srid);
    assert_eq!(parallel.bbox, serial.bbox);
    assert_eq!(parallel.sha256, serial.sha256);
}

#[tokio::test]
async fn the_parallel_load_stores_exactly_the_rows_of_the_one_stream_load() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    // Client-derived (Gauss-Krüger, geographic), server-derived (EPSG:4610 goes through the
    // partition's trigger), and a file with a bow-tie to repair, a null and an empty geometry
    // to skip, and single and multi polygons mixed.
    let dir = scratch("parallel-same-rows");
    let repair = dir.join("repair.geojson");
    std::fs::write(
        &repair,
        r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{"n":1},"geometry":{"type":"Polygon","coordinates":[[[101,38],[101.1,38.1],[101.1,38],[101,38.1],[101,38]]]}},
        {"type":"Feature","properties":{"n":2},"geometry":null},
        {"type":"Feature","properties":{"n":3},"geometry":{"type":"Polygon","coordinates":[[[101,38],[101.1,38],[101.1,38.1],[101,38]]]}},
        {"type":"Feature","properties":{"n":4,"名称":"耕地"},"geometry":{"type":"MultiPolygon","coordinates":[[[[101.2,38.7],[101.21,38.7],[101.21,38.71],[101.2,38.71],[101.2,38.7]]]]}},
        {"type":"Feature","properties":{"n":5},"geometry":{"type":"MultiPolygon","coordinates":[]}}]}"#,
    )
    .unwrap();
    // And one large enough (about 12 MB of rows, a dozen chunks) to be split across streams.
    let large = large_geojson(&dir, 50_000, None);
    let cases: [(PathBuf, Option<i32>); 5] = [
        (large, None),
        (fixture("ingest/shandan_parcels_4522.gpkg"), None),
        (fixture("tiles/parcels_4326.geojson"), None),
        (fixture("ingest/shandan_parcels_4326.geojson"), Some(4610)),
        (repair, None),
    ];
    for (i, (path, srid)) in cases.into_iter().enumerate() {
        let file = path.display().to_string();
        let serial_req = IngestRequest {
            srid,
            ..request(path.clone(), &format!("serial_{i}"), 2024)
        };
        let parallel_req = IngestRequest {
            srid,
            parallel: parallel(&db, 3),
            ..request(path, &format!("parallel_{i}"), 2024)
        };
        let serial = ingest(&mut client, &serial_req).await.unwrap();
        let par = ingest(&mut client, &parallel_req).await.unwrap();
        same_report(&serial, &par);
        let rows = stored_rows(&client, serial.version_id).await;
        assert!(rows.0 > 0, "{file}: nothing stored");
        assert_eq!(
            stored_rows(&client, par.version_id).await,
            rows,
            "{file}: the parallel load stored other rows"
        );
        eprintln!(
            "{file}: {} rows, {} repaired, identical",
            rows.0, par.features_repaired
        );
        if file.ends_with("repair.geojson") {
            assert_eq!(
                (par.features_repaired, par.features_rejected, rows.0),
                (1, 2, 3)
            );
        }
    }
    // Nothing left over: every version's table is an attached partition.
    assert!(staging_tables(&client).await.is_empty());
    assert_eq!(tables_and_versions(&client).await, (10, 10));
}

#[tokio::test]
async fn an_identical_file_is_recognised_with_parallel_loading_too() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let req = IngestRequest {
        parallel: parallel(&db, 2),
        ..request(fixture("ingest/shandan_parcels_4522.gpkg"), "again", 2024)
    };
    let first = ingest(&mut client, &req).await.unwrap();
    let second = ingest(&mut client, &req).await.unwrap();
    assert!(!first.unchanged && second.unchanged);
    assert_eq!(second.version_id, first.version_id);
    assert_eq!(tables_and_versions(&client).await, (1, 1));
}

/// Backend pids of the parallel COPY streams while they copy.
async fn copying_streams(client: &Client) -> Vec<i32> {
    first_column(
        client,
        "SELECT pid FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = $1
           AND query ILIKE 'COPY%' AND state = 'active'",
        &[&onemap_ingest::STREAM_APPLICATION],
    )
    .await
}

/// Waits until `streams` COPY streams run at once.
async fn wait_for_streams(
    client: &Client,
    streams: usize,
    running: &tokio::task::JoinHandle<impl Sized>,
) -> Vec<i32> {
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the parallel COPY never showed up in pg_stat_activity"
        );
        assert!(
            !running.is_finished(),
            "the ingest finished before it was killed"
        );
        let pids = copying_streams(client).await;
        if pids.len() >= streams {
            return pids;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn killing_one_parallel_stream_leaves_the_previous_version_intact_and_a_retry_works() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let v1 = ingest(
        &mut client,
        &request(fixture("tiles/parcels_4326.geojson"), "killed", 2024),
    )
    .await
    .unwrap()
    .version_id;
    let before = stored_rows(&client, v1).await;
    assert!(before.0 > 0);

    let dir = scratch("parallel-kill-stream");
    let large = large_geojson(&dir, 200_000, None);
    let req = IngestRequest {
        parallel: parallel(&db, 2),
        ..request(large, "killed", 2025)
    };
    let running = tokio::spawn({
        let req = req.clone();
        let mut ingest_client = db.client().await;
        async move { ingest(&mut ingest_client, &req).await }
    });
    let pids = wait_for_streams(&client, 2, &running).await;
    let killed: bool = client
        .query_one("SELECT pg_terminate_backend($1)", &[&pids[0]])
        .await
        .unwrap()
        .get(0);
    assert!(killed);
    let err = running.await.unwrap().unwrap_err().to_string();
    eprintln!("the ingest failed with: {err}");
    assert!(err.contains("large_parcels_2025.geojson"), "{err}");
    assert!(
        err.contains("terminat") || err.contains("closed") || err.contains("connection"),
        "the reason says the connection was lost: {err}"
    );

    // Version 1 exactly as it was; the staging table was dropped, no version recorded.
    assert_eq!(stored_rows(&client, v1).await, before);
    assert_eq!(tables_and_versions(&client).await, (1, 1));
    assert!(staging_tables(&client).await.is_empty());

    // Retried, it succeeds.
    let report = ingest(&mut client, &req).await.unwrap();
    assert_eq!(report.features_written, 200_000);
    assert_eq!(stored_rows(&client, report.version_id).await.0, 200_000);
    assert_eq!(stored_rows(&client, v1).await, before);
    assert_eq!(tables_and_versions(&client).await, (2, 2));
}

#[tokio::test]
async fn a_staging_table_left_by_a_killed_loader_is_never_visible_to_readers_and_is_swept() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let v1 = ingest(
        &mut client,
        &request(fixture("tiles/parcels_4326.geojson"), "left", 2024),
    )
    .await
    .unwrap()
    .version_id;
    let before = stored_rows(&client, v1).await;

    let dir = scratch("parallel-leftover");
    let large = large_geojson(&dir, 200_000, None);
    let req = IngestRequest {
        parallel: parallel(&db, 2),
        ..request(large, "left", 2025)
    };
    // The loader's process is killed in the middle of the COPY: here, its task is dropped, so
    // its connections close without any clean-up.
    let running = tokio::spawn({
        let req = req.clone();
        let mut ingest_client = db.client().await;
        async move { ingest(&mut ingest_client, &req).await }
    });
    wait_for_streams(&client, 2, &running).await;
    running.abort();
    assert!(running.await.unwrap_err().is_cancelled());

    // Its staging table stays behind once its connections are gone.
    let started = Instant::now();
    let left = loop {
        if ingest_connections_gone(&client).await {
            break staging_tables(&client).await;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the loader's connections stayed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(left.len(), 1, "{left:?}");
    let table = format!("onemap.{}", left[0]);
    let staged: i64 = client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap()
        .get(0);
    eprintln!("{table} was left with {staged} rows");

    // Readers see none of it: not through onemap.features, not by the table's name.
    let reader = db.client().await;
    reader
        .batch_execute("SET ROLE onemap_reader")
        .await
        .unwrap();
    let seen: i64 = reader
        .query_one("SELECT count(*) FROM onemap.features", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, before.0);
    let denied = reader
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap_err();
    assert_eq!(
        denied.code(),
        Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
        "{denied:?}"
    );
    assert_eq!(stored_rows(&client, v1).await, before);
    assert_eq!(tables_and_versions(&client).await, (2, 1));

    // A table any of whose loader's connections is alive (holding its share of the lock) is
    // not swept.
    let version: i64 = left[0].trim_start_matches("features_v").parse().unwrap();
    let holder = db.client().await;
    holder
        .execute(
            "SELECT pg_advisory_lock_shared(hashtext('onemap.ingest_staging'), ($1::bigint % 2147483647)::int)",
            &[&version],
        )
        .await
        .unwrap();
    assert_eq!(sweep_staging(&client).await.unwrap(), 0);
    assert_eq!(staging_tables(&client).await, left);
    drop(holder);
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Once it is gone, the next parallel ingest sweeps the table before it loads.
    let report = ingest(&mut client, &req).await.unwrap();
    assert_eq!(report.features_written, 200_000);
    assert!(staging_tables(&client).await.is_empty());
    assert_eq!(tables_and_versions(&client).await, (2, 2));
    assert_eq!(stored_rows(&client, v1).await, before);
}

#[tokio::test]
async fn a_loader_that_lost_only_its_control_connection_keeps_its_table_and_publishes() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let v1 = ingest(
        &mut client,
        &request(fixture("tiles/parcels_4326.geojson"), "control", 2024),
    )
    .await
    .unwrap()
    .version_id;
    let before = stored_rows(&client, v1).await;
    let dir = scratch("parallel-control");
    let large = large_geojson(&dir, 200_000, None);
    let req = IngestRequest {
        parallel: parallel(&db, 2),
        ..request(large, "control", 2025)
    };
    let running = tokio::spawn({
        let req = req.clone();
        let mut ingest_client = db.client().await;
        async move { ingest(&mut ingest_client, &req).await }
    });
    wait_for_streams(&client, 2, &running).await;
    // The control connection goes; the streams keep copying.
    let killed: Vec<bool> = first_column(
        &client,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = 'onemap ingest staging'",
        &[],
    )
    .await;
    assert_eq!(killed, vec![true]);
    // Another ingest's sweep meanwhile leaves the table alone: its streams hold the lock.
    assert_eq!(sweep_staging(&client).await.unwrap(), 0);
    let report = running.await.unwrap().unwrap();
    assert_eq!(report.features_written, 200_000);
    assert!(staging_tables(&client).await.is_empty());
    assert_eq!(tables_and_versions(&client).await, (2, 2));
    assert_eq!(stored_rows(&client, report.version_id).await.0, 200_000);
    assert_eq!(stored_rows(&client, v1).await, before);
}

#[tokio::test]
async fn a_row_the_server_refuses_is_named_by_its_feature_number_as_in_one_stream() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let dir = scratch("parallel-refused");
    let path = dir.join("points_4522.geojson");
    let mut features = Vec::new();
    for i in 0..40 {
        let (x, y) = if i == 27 {
            (1e12, 1e12)
        } else {
            (34_500_000.0 + f64::from(i) * 10.0, 4_250_000.0)
        };
        features.push(format!(
            r#"{{"type":"Feature","properties":{{"n":{i}}},"geometry":{{"type":"Point","coordinates":[{x},{y}]}}}}"#
        ));
    }
    std::fs::write(
        &path,
        format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            features.join(",")
        ),
    )
    .unwrap();
    let serial = ingest(
        &mut client,
        &IngestRequest {
            srid: Some(4522),
            ..request(path.clone(), "refused", 2024)
        },
    )
    .await
    .unwrap_err()
    .to_string();
    let par = ingest(
        &mut client,
        &IngestRequest {
            srid: Some(4522),
            parallel: parallel(&db, 2),
            ..request(path, "refused", 2024)
        },
    )
    .await
    .unwrap_err()
    .to_string();
    eprintln!("{par}");
    assert!(serial.contains("feature 28"), "{serial}");
    assert_eq!(par, serial);
    assert!(staging_tables(&client).await.is_empty());
    assert_eq!(tables_and_versions(&client).await, (0, 0));
}
