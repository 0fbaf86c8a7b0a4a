//! Ingest of CSV (a WKT column, or lon/lat or x/y columns) and FlatGeobuf files: CRS rules,
//! attribute types, encodings, and rows rejected with their reasons while the others load.

mod helpers;

use std::path::PathBuf;

use helpers::{fixture, TestDb};
use onemap_ingest::{ingest, IngestError, IngestRequest};
use tokio_postgres::Client;

fn request(path: PathBuf, layer: &str) -> IngestRequest {
    IngestRequest {
        path,
        layer: layer.into(),
        department: "zrzy".into(),
        ingested_by: "tests".into(),
        ..IngestRequest::default()
    }
}

fn csv(name: &str) -> PathBuf {
    fixture(&format!("ingest/csv/{name}"))
}

fn fgb(name: &str) -> PathBuf {
    fixture(&format!("ingest/fgb/{name}"))
}

/// A file written for one test under the system's temporary folder.
fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("onemap-ingest-formats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

async fn props(client: &Client, version_id: i64) -> Vec<serde_json::Value> {
    client
        .query(
            "SELECT props FROM onemap.features WHERE version_id = $1 ORDER BY fid",
            &[&version_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn total_area(client: &Client, version_id: i64) -> f64 {
    client
        .query_one(
            "SELECT sum(area_m2) FROM onemap.features WHERE version_id = $1",
            &[&version_id],
        )
        .await
        .unwrap()
        .get(0)
}

async fn versions(client: &Client) -> i64 {
    client
        .query_one("SELECT count(*) FROM onemap.layer_versions", &[])
        .await
        .unwrap()
        .get(0)
}

/// Total area of the six reference parcels, from the RFC 7946 GeoJSON.
async fn reference_area(client: &mut Client) -> f64 {
    let report = ingest(
        client,
        &request(fixture("ingest/shandan_parcels_4326.geojson"), "reference"),
    )
    .await
    .unwrap();
    total_area(client, report.version_id).await
}

#[tokio::test]
async fn a_wkt_csv_needs_srid_and_then_loads_typed_attributes_and_true_areas() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let reference = reference_area(&mut client).await;

    let err = ingest(&mut client, &request(csv("parcels_wkt.csv"), "csv_parcels"))
        .await
        .unwrap_err();
    assert!(matches!(err, IngestError::UnknownCrs { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("parcels_wkt.csv") && msg.contains("WKT column WKT") && msg.contains("--srid"),
        "{msg}"
    );
    assert_eq!(versions(&client).await, 1);

    let mut req = request(csv("parcels_wkt.csv"), "csv_parcels");
    req.srid = Some(4326);
    let report = ingest(&mut client, &req).await.unwrap();
    assert_eq!((report.features_read, report.features_written), (6, 6));
    assert_eq!((report.srid, report.srid_source.as_str()), (4326, "--srid"));
    assert_eq!(report.geometry_type, "polygon");
    assert_eq!(report.encoding.as_deref(), Some("UTF-8"));
    let area = total_area(&client, report.version_id).await;
    assert!(
        (area - reference).abs() / reference < 0.001,
        "{area} {reference}"
    );

    let rows = props(&client, report.version_id).await;
    // Codes keep their leading zeros and 19-digit unit codes stay text; BSM is an integer.
    assert_eq!(rows[0]["DLBM"], serde_json::json!("0101"));
    assert_eq!(rows[0]["ZLDWDM"], serde_json::json!("6207250010010000000"));
    assert_eq!(rows[0]["BSM"], serde_json::json!(1));
    assert_eq!(rows[3]["DLMC"], serde_json::json!("天然牧草地"));
    assert!(rows[0].get("WKT").is_none(), "{}", rows[0]);
    // The layer found its class field in the CSV header.
    let class_field: Option<String> = client
        .query_one(
            "SELECT class_field FROM onemap.layers WHERE id = 'csv_parcels'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(class_field.as_deref(), Some("DLBM"));
}

#[tokio::test]
async fn a_gbk_csv_is_detected_or_told_and_arrives_as_utf_8() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    for (i, (given, name, source)) in [
        (None, "gb18030", "detected: "),
        (Some("GBK"), "GBK", "--encoding GBK"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut req = request(csv("parcels_wkt_gbk.csv"), &format!("gbk_{i}"));
        req.srid = Some(4326);
        req.encoding = given.map(str::to_owned);
        let report = ingest(&mut client, &req).await.unwrap();
        assert_eq!(report.features_written, 6);
        assert_eq!(report.encoding.as_deref(), Some(name));
        let found = report.encoding_source.unwrap();
        assert!(found.starts_with(source), "{found}");
        let rows = props(&client, report.version_id).await;
        assert_eq!(rows[3]["DLMC"], serde_json::json!("天然牧草地"));
    }
}

#[tokio::test]
async fn lon_lat_columns_default_to_4326_and_bad_rows_are_rejected_with_their_line() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let report = ingest(
        &mut client,
        &request(csv("stations_lonlat.csv"), "stations"),
    )
    .await
    .unwrap();
    assert_eq!(report.srid, 4326);
    assert!(
        report.srid_source.contains("Longitude/Latitude") && report.srid_source.contains("4326"),
        "{}",
        report.srid_source
    );
    assert_eq!(report.geometry_type, "point");
    assert_eq!(report.features_read, 7);
    assert_eq!(report.features_written, 4);
    assert_eq!(report.features_rejected, 3);
    let rejected: Vec<(u64, &str)> = report
        .rejections
        .iter()
        .map(|r| (r.feature, r.reason.as_str()))
        .collect();
    assert_eq!(rejected.len(), 3, "{rejected:?}");
    assert_eq!(rejected[0].0, 3);
    assert!(
        rejected[0].1.contains("line 4") && rejected[0].1.contains("not numbers"),
        "{rejected:?}"
    );
    assert_eq!(rejected[1].0, 4);
    assert!(rejected[1].1.contains("line 5") && rejected[1].1.contains("empty"));
    assert_eq!(rejected[2].0, 6);
    assert!(rejected[2].1.contains("line 7") && rejected[2].1.contains("2 fields"));
    assert_eq!(
        report.rejections[0].field.as_deref(),
        Some("Longitude/Latitude")
    );

    let rows = props(&client, report.version_id).await;
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["name"], serde_json::json!("山丹县城"));
    assert_eq!(rows[0]["code"], serde_json::json!("0101"));
    // A column with one decimal value is real throughout; empty values are null.
    assert!(rows[0]["elevation_m"].is_f64(), "{}", rows[0]);
    assert_eq!(rows[0]["elevation_m"].as_f64(), Some(1765.0));
    assert_eq!(rows[0]["installed"], serde_json::json!("2019-05-01"));
    assert!(rows[0]["note"].is_null());
    assert_eq!(rows[2]["note"], serde_json::json!("quoted, with comma"));
    let fids: Vec<i64> = client
        .query(
            "SELECT fid FROM onemap.features WHERE version_id = $1 ORDER BY fid",
            &[&report.version_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(fids, [1, 2, 5, 7]);
}

#[tokio::test]
async fn x_y_columns_and_projected_values_in_lon_lat_columns_need_srid() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    for (file, words) in [
        ("stations_xy_4543.csv", "columns X/Y, which name no"),
        ("stations_projected_lonlat.csv", "outside ±180/±90"),
    ] {
        let err = ingest(&mut client, &request(csv(file), "stations"))
            .await
            .unwrap_err();
        assert!(matches!(err, IngestError::UnknownCrs { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains(file) && msg.contains(words) && msg.contains("--srid"),
            "{msg}"
        );
    }
    assert_eq!(versions(&client).await, 0);

    let lonlat = ingest(&mut client, &request(csv("stations_lonlat.csv"), "lonlat"))
        .await
        .unwrap();
    let mut req = request(csv("stations_xy_4543.csv"), "xy");
    req.srid = Some(4543);
    let xy = ingest(&mut client, &req).await.unwrap();
    assert_eq!((xy.srid, xy.features_written), (4543, 4));
    // The projected copy lands where the degrees say (within a centimetre or so).
    let far: f64 = client
        .query_one(
            "SELECT max(ST_Distance(a.geom::geography, ST_Transform(b.geom, 4326)::geography))
             FROM onemap.features a JOIN onemap.features b ON a.props->>'name' = b.props->>'name'
             WHERE a.version_id = $1 AND b.version_id = $2",
            &[&lonlat.version_id, &xy.version_id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(far < 0.05, "{far} m");
}

#[tokio::test]
async fn an_ewkt_prefix_gives_the_srid_and_an_unreadable_wkt_row_is_rejected() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    // Tab-separated: the delimiter is found from the header.
    let path = temp_file(
        "ewkt.csv",
        "id\tgeom\t名称\n\
         1\tSRID=4490;POINT(101.088 38.784)\t县城\n\
         2\tSRID=4490;POLYGON((101 38, 101.1\tbroken\n\
         3\tSRID=4490;POINT EMPTY\t空\n\
         4\tSRID=4490;POINT(101.27 38.48)\t霍城\n",
    );
    let report = ingest(&mut client, &request(path, "ewkt")).await.unwrap();
    assert_eq!(report.srid, 4490, "{}", report.srid_source);
    assert!(
        report.srid_source.contains("SRID=4490"),
        "{}",
        report.srid_source
    );
    assert_eq!((report.features_written, report.features_rejected), (2, 2));
    assert_eq!(report.rejections[0].feature, 2);
    assert!(
        report.rejections[0].reason.contains("unreadable geometry"),
        "{:?}",
        report.rejections
    );
    assert_eq!(report.rejections[0].field.as_deref(), Some("geom"));
    assert!(report.rejections[1].reason.contains("empty"));
    let rows = props(&client, report.version_id).await;
    assert_eq!(rows[1]["名称"], serde_json::json!("霍城"));
}

#[tokio::test]
async fn flatgeobuf_files_take_their_srid_from_the_header_and_agree_on_area() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let reference = reference_area(&mut client).await;
    for (i, (file, srid)) in [("parcels_4543.fgb", 4543), ("parcels_4490.fgb", 4490)]
        .into_iter()
        .enumerate()
    {
        let report = ingest(&mut client, &request(fgb(file), &format!("fgb_{i}")))
            .await
            .unwrap();
        assert_eq!(report.srid, srid, "{file}");
        assert_eq!(
            report.srid_source,
            format!("FlatGeobuf header (EPSG:{srid})")
        );
        assert_eq!((report.features_read, report.features_written), (6, 6));
        assert_eq!(report.geometry_type, "polygon");
        let area = total_area(&client, report.version_id).await;
        assert!(
            (area - reference).abs() / reference < 0.001,
            "{file}: {area}"
        );
        // Features come in the file's (Hilbert-sorted) order: find them by their attributes.
        let rows = props(&client, report.version_id).await;
        assert!(
            rows.iter()
                .any(|r| r["DLMC"] == serde_json::json!("天然牧草地")),
            "{rows:?}"
        );
        let paddy = rows
            .iter()
            .find(|r| r["DLBM"] == serde_json::json!("0101"))
            .unwrap();
        assert_eq!(paddy.as_object().unwrap().len(), 5, "{paddy}");
    }
}

#[tokio::test]
async fn a_truncated_flatgeobuf_fails_naming_the_file_and_publishes_nothing() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let bytes = std::fs::read(fgb("parcels_4543.fgb")).unwrap();
    let dir = std::env::temp_dir().join(format!("onemap-ingest-formats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("truncated.fgb");
    std::fs::write(&path, &bytes[..bytes.len() - 300]).unwrap();
    let err = ingest(&mut client, &request(path, "truncated"))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("truncated.fgb"), "{msg}");
    assert!(
        matches!(
            err,
            IngestError::Feature { .. } | IngestError::Malformed { .. }
        ),
        "{err:?}"
    );
    assert_eq!(versions(&client).await, 0);
}
