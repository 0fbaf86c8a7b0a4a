//! Clue batches delivered as Shapefiles, against a real PostGIS on the trend fixtures
//! (tests/fixtures/trends/README.md): a GBK point shapefile with Chinese field names and an
//! ESRI Gauss-Krüger `.prj` made by ogr2ogr, and a zip holding a polygon shapefile in
//! EPSG:4490 (tests/fixtures/ledger/README.md): broken records reported by their feature
//! number and reason, geometries transformed to lon/lat, re-imports adding nothing.

mod helpers;

use std::path::{Path, PathBuf};

use helpers::TestDb;
use onemap_access::Acting;
use onemap_ledger::{ImportReport, ImportRequest, LedgerError};
use serde_json::{json, Value};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/ledger")
        .join(name)
}

async fn import(
    client: &mut tokio_postgres::Client,
    path: &Path,
) -> Result<ImportReport, LedgerError> {
    onemap_ledger::import::import(
        client,
        &Acting::operator("test"),
        &ImportRequest {
            path: path.to_owned(),
            ..ImportRequest::default()
        },
    )
    .await
}

/// CGCS2000 lon/lat of the fixture cell coordinate (x, y).
async fn lonlat(client: &tokio_postgres::Client, x: f64, y: f64) -> [f64; 2] {
    helpers::ledger::lonlat_in(client, x, y, 4490).await
}

/// (clue id, source, date, activity, props, lon, lat, area m², zones) of the clue.
async fn clue(
    client: &tokio_postgres::Client,
    clue_id: &str,
) -> (String, String, String, Value, f64, f64, f64, Value) {
    let r = client
        .query_one(
            "SELECT source, detected_on::text, activity, props, ST_X(ST_PointOnSurface(geom)), \
             ST_Y(ST_PointOnSurface(geom)), area_m2, zones FROM onemap.clues WHERE clue_id = $1",
            &[&clue_id],
        )
        .await
        .unwrap();
    (
        r.get(0),
        r.get(1),
        r.get(2),
        r.get(3),
        r.get(4),
        r.get(5),
        r.get(6),
        r.get(7),
    )
}

#[tokio::test]
async fn a_gbk_shapefile_with_an_esri_gauss_kruger_prj_loads_its_good_records_reports_each_broken_one_by_feature_number_and_a_reimport_adds_nothing(
) {
    let db = TestDb::new().await;
    let mut client = helpers::survey_fixtures::load_zoning_and_surveys(&db, "dltb").await;
    let shp = fixture("clues_gk.shp");
    let report = import(&mut client, &shp).await.unwrap();
    assert_eq!(report.batch, "clues_gk");
    assert_eq!(report.rows, 8, "{report:#?}");
    assert_eq!(report.imported, 3, "{report:#?}");
    let rejected: Vec<(usize, Option<&str>, &str)> = report
        .rejected
        .iter()
        .map(|r| (r.row, r.clue_id.as_deref(), r.reason.as_str()))
        .collect();
    let expect = [
        (4, None, "no clue id"),
        (5, Some("SHP-005"), "unknown activity \"捕鱼\""),
        (6, Some("SHP-006"), "no geometry"),
        (7, Some("SHP-001"), "the same clue as row 1"),
        (8, Some("SHP-008"), "unknown source level \"县级\""),
    ];
    assert_eq!(rejected.len(), expect.len(), "{rejected:#?}");
    for ((row, id, reason), (want_row, want_id, want)) in rejected.iter().zip(expect) {
        assert_eq!((*row, *id), (want_row, want_id), "{reason}");
        assert!(reason.contains(want), "row {row}: {reason}");
    }

    // GBK text and Chinese names decoded; the GK coordinates transformed to lon/lat.
    let (source, date, activity, props, lon, lat, area, zones) = clue(&client, "SHP-001").await;
    assert_eq!(
        (source.as_str(), date.as_str(), activity.as_str()),
        ("national", "2024-03-01", "mining")
    );
    assert_eq!(props["备注"], json!("疑似采砂点"));
    assert_eq!(props["疑似类型"], json!("采矿"));
    let [want_lon, want_lat] = lonlat(&client, 2.5, 1.5).await;
    assert!(
        (lon - want_lon).abs() < 1e-8 && (lat - want_lat).abs() < 1e-8,
        "{lon} {lat}"
    );
    assert_eq!(area, 0.0);
    // The same enrichment as a GeoJSON clue at that place (cell (2.5, 1.5) is in the core zone).
    assert_eq!(zones, json!([{"name": "核心区", "kind": "core"}]));
    let (source, date, activity, ..) = clue(&client, "SHP-003").await;
    assert_eq!(
        (source.as_str(), date.as_str(), activity.as_str()),
        ("city", "2024-05-03", "hydropower")
    );
    let (_, _, activity, ..) = clue(&client, "SHP-002").await;
    assert_eq!(activity, "grazing");

    let again = import(&mut client, &shp).await.unwrap();
    assert_eq!(
        (again.imported, again.already_present, again.rejected.len()),
        (0, 3, 5)
    );
    let count: i64 = client
        .query_one("SELECT count(*) FROM onemap.clues", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 3);
}

#[tokio::test]
async fn a_zip_holding_a_polygon_shapefile_in_cgcs2000_loads_with_its_geodesic_area_and_a_reimport_adds_nothing(
) {
    let db = TestDb::new().await;
    let mut client = helpers::survey_fixtures::load_zoning_and_surveys(&db, "dltb").await;
    let zip = fixture("clues_polygons_4490.zip");
    let report = import(&mut client, &zip).await.unwrap();
    assert_eq!((report.rows, report.imported), (2, 1), "{report:#?}");
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].row, 2);
    assert_eq!(report.rejected[0].clue_id.as_deref(), Some("ZIP-P2"));
    assert!(
        report.rejected[0]
            .reason
            .contains("\"2024-13-04\" is not a date"),
        "{}",
        report.rejected[0].reason
    );
    let (source, date, activity, _, lon, lat, area, _) = clue(&client, "ZIP-P1").await;
    assert_eq!(
        (source.as_str(), date.as_str(), activity.as_str()),
        ("provincial", "2024-06-04", "reclamation")
    );
    // One fixture cell, 100 m × 100 m (GK scale factor 1 this close to the central meridian).
    assert!((area - 10_000.0).abs() < 5.0, "{area}");
    let [want_lon, want_lat] = lonlat(&client, 1.0, 1.0).await;
    assert!((lon - want_lon).abs() < 1e-5 && (lat - want_lat).abs() < 1e-5);

    let again = import(&mut client, &zip).await.unwrap();
    assert_eq!((again.imported, again.already_present), (0, 1));
}

#[tokio::test]
async fn a_shapefile_without_a_prj_or_a_zip_without_a_shapefile_is_refused_naming_the_file() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let dir = std::env::temp_dir().join(format!("onemap-ledger-shp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for ext in ["shp", "shx", "dbf", "cpg"] {
        std::fs::copy(
            fixture(&format!("clues_gk.{ext}")),
            dir.join(format!("noprj.{ext}")),
        )
        .unwrap();
    }
    let err = import(&mut client, &dir.join("noprj.shp"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("noprj.shp") && err.contains(".prj"), "{err}");

    // A workbook is a zip archive too, one without a shapefile.
    let xlsx_in_zip = dir.join("not_a_shapefile.zip");
    std::fs::copy(fixture("clues_openpyxl.xlsx"), &xlsx_in_zip).unwrap();
    let err = import(&mut client, &xlsx_in_zip)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not_a_shapefile.zip") && err.contains("no shapefile"),
        "{err}"
    );
    let count: i64 = client
        .query_one("SELECT count(*) FROM onemap.clues", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 0);
    let _ = std::fs::remove_dir_all(&dir);
}
