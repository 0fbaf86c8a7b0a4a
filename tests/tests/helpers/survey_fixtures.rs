//! The hand-checkable zoning and survey fixtures of tests/fixtures/trends, loaded the way the
//! enforcement and ledger tests both need them.

use onemap_ingest::{ingest, IngestRequest};

use super::{fixture, TestDb};

/// Loads the reserve zones, station jurisdictions and villages (owned by lcj) and the survey
/// years 2020–2022 as the land-use layer `land_use` (owned by zrzy, class field DLBM, all in
/// EPSG:4543), then precomputes its trends.
pub async fn load_zoning_and_surveys(db: &TestDb, land_use: &str) -> tokio_postgres::Client {
    let mut client = db.client().await;
    ingest_trend_files(
        &mut client,
        &[
            ("reserve_zones", "lcj", "trends/zones.geojson", None),
            (
                "station_jurisdictions",
                "lcj",
                "trends/stations.geojson",
                None,
            ),
            ("villages", "lcj", "trends/villages.geojson", None),
            (land_use, "zrzy", "trends/landuse_2020.geojson", Some(2020)),
            (land_use, "zrzy", "trends/landuse_2021.geojson", Some(2021)),
            (land_use, "zrzy", "trends/landuse_2022.geojson", Some(2022)),
        ],
    )
    .await;
    onemap_trends::precompute(&mut client, land_use, None)
        .await
        .unwrap();
    client
}

/// Ingests `(layer, department, file under tests/fixtures, survey year)` in order, all in
/// EPSG:4543; the survey years with class field DLBM.
pub async fn ingest_trend_files(
    client: &mut tokio_postgres::Client,
    files: &[(&str, &str, &str, Option<i32>)],
) {
    for &(layer, department, file, year) in files {
        ingest(
            client,
            &IngestRequest {
                path: fixture(file),
                layer: layer.into(),
                department: department.into(),
                year,
                srid: Some(4543),
                class_field: year.map(|_| "DLBM".to_owned()),
                ingested_by: "test".into(),
                ..IngestRequest::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("ingest of {file} failed: {e}"));
    }
}
