//! The hand-checkable zoning and survey fixtures of tests/fixtures/trends, loaded the way the
//! enforcement and ledger tests both need them.

use onemap_ingest::{ingest, IngestRequest};

use super::{fixture, TestDb};

/// Loads the reserve zones, station jurisdictions and villages (owned by lcj) and the survey
/// years 2020–2022 as the land-use layer `land_use` (owned by zrzy, class field DLBM, all in
/// EPSG:4543), then precomputes its trends.
pub async fn load_zoning_and_surveys(db: &TestDb, land_use: &str) -> tokio_postgres::Client {
    let mut client = db.client().await;
    let files: [(&str, &str, Option<i32>); 6] = [
        ("reserve_zones", "trends/zones.geojson", None),
        ("station_jurisdictions", "trends/stations.geojson", None),
        ("villages", "trends/villages.geojson", None),
        (land_use, "trends/landuse_2020.geojson", Some(2020)),
        (land_use, "trends/landuse_2021.geojson", Some(2021)),
        (land_use, "trends/landuse_2022.geojson", Some(2022)),
    ];
    for (layer, file, year) in files {
        ingest(
            &mut client,
            &IngestRequest {
                path: fixture(file),
                layer: layer.into(),
                department: if year.is_some() { "zrzy" } else { "lcj" }.into(),
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
    onemap_trends::precompute(&mut client, land_use, None)
        .await
        .unwrap();
    client
}
