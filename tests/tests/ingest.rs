//! Ingest of GeoJSON and GeoPackage files into the catalog, against a real PostGIS.

mod helpers;

use std::path::{Path, PathBuf};

use helpers::{fixture, TestDb};
use onemap_ingest::{ingest, IngestError, IngestReport, IngestRequest};
use onemap_schemas::authz::Principal;
use onemap_schemas::catalog;
use tokio_postgres::Client;

fn request(path: PathBuf, layer: &str, department: &str) -> IngestRequest {
    IngestRequest {
        path,
        layer: layer.into(),
        department: department.into(),
        ingested_by: "tests".into(),
        ..IngestRequest::default()
    }
}

fn parcels(name: &str) -> PathBuf {
    fixture(&format!("ingest/{name}"))
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

/// Every version of every layer, oldest first, as one comparable value.
async fn catalog_snapshot(client: &Client) -> Vec<(String, i64, Option<i32>, String, i64, String)> {
    client
        .query(
            "SELECT l.id, v.id, v.year, v.label, v.feature_count, v.source_sha256
             FROM onemap.layer_versions v JOIN onemap.layers l ON l.key = v.layer_key
             ORDER BY v.id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
        .collect()
}

async fn partition_count(client: &Client) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'onemap' AND tablename LIKE 'features\\_v%'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
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

/// A GeoJSON file written for one test under the system's temporary folder.
fn temp_geojson(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("onemap-ingest-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[tokio::test]
async fn geojson_ingests_with_the_expected_feature_count_srid_and_attribute_text() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let req = request(parcels("us_wilderness.geojson"), "wilderness", "lcj");
    let report = ingest(&mut client, &req).await.unwrap();
    assert!(report.created_layer);
    assert!(!report.unchanged);
    assert_eq!((report.features_read, report.features_written), (67, 67));
    assert_eq!(report.srid, 4326);
    assert_eq!(
        report.srid_source,
        "GeoJSON crs member urn:ogc:def:crs:OGC:1.3:CRS84"
    );
    assert_eq!(report.geometry_type, "polygon");
    assert_eq!(report.label, "us_wilderness");
    assert_eq!(report.source_file, "us_wilderness.geojson");
    assert_eq!(report.sha256.len(), 64);
    let [w, s, e, n] = report.bbox.unwrap();
    assert!(
        (-114.5..-113.0).contains(&w) && (36.0..37.5).contains(&s),
        "{w} {s}"
    );
    assert!(
        (-105.5..-104.0).contains(&e) && (40.5..42.0).contains(&n),
        "{e} {n}"
    );

    let row = client
        .query_one(
            "SELECT count(*), min(ST_SRID(geom)), count(*) FILTER (WHERE props->>'NAME' = 'Mount Naomi Wilderness')
             FROM onemap.features WHERE version_id = $1",
            &[&report.version_id],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            row.get::<_, i64>(0),
            row.get::<_, i32>(1),
            row.get::<_, i64>(2)
        ),
        (67, 4326, 1)
    );

    let layer = catalog::layer(&client, &Principal::Anonymous, "wilderness")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(layer.department, "lcj");
    assert_eq!(
        (layer.title_zh.as_str(), layer.title_en.as_str()),
        ("wilderness", "wilderness")
    );
    assert_eq!(layer.geometry_type, "polygon");
    assert_eq!(layer.theme, "human_activity");
    assert_eq!(layer.class_field, None);
    assert_eq!(layer.versions.len(), 1);
    assert_eq!(layer.versions[0].feature_count, 67);
    assert_eq!(layer.versions[0].source_sha256, report.sha256);
}

#[tokio::test]
async fn rfc_7946_geojson_is_4326_and_a_dlbm_field_makes_a_land_use_layer() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let mut req = request(parcels("shandan_parcels_4326.geojson"), "dltb", "zrzy");
    req.year = Some(2023);
    let report = ingest(&mut client, &req).await.unwrap();
    assert_eq!(report.srid, 4326);
    assert_eq!(report.srid_source, "GeoJSON (RFC 7946: EPSG:4326)");
    assert_eq!(report.features_written, 6);
    assert_eq!(report.label, "2023");
    let names: Vec<String> = client
        .query(
            "SELECT props->>'DLMC' FROM onemap.features WHERE version_id = $1 ORDER BY fid",
            &[&report.version_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(names[3], "天然牧草地");
    let layer = catalog::layer(&client, &Principal::Anonymous, "dltb")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(layer.theme, "land_use");
    assert_eq!(layer.class_field.as_deref(), Some("DLBM"));
}

#[tokio::test]
async fn a_geopackage_with_nulls_keeps_nulls_and_types() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let req = request(
        fixture("external/geopackage/test_gpkg_nulls.gpkg"),
        "gpkg_nulls",
        "sthj",
    );
    let report = ingest(&mut client, &req).await.unwrap();
    assert_eq!(report.features_written, 4);
    assert_eq!(report.geometry_type, "point");
    assert_eq!(report.srid, 4326);
    assert_eq!(
        report.srid_source,
        "GeoPackage gpkg_spatial_ref_sys (EPSG:4326)"
    );
    let rows = client
        .query(
            "SELECT fid, props FROM onemap.features WHERE version_id = $1 ORDER BY fid",
            &[&report.version_id],
        )
        .await
        .unwrap();
    let props: Vec<(i64, serde_json::Value)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(props.iter().map(|p| p.0).collect::<Vec<_>>(), [1, 2, 3, 4]);
    let first = &props[0].1;
    assert_eq!(first["col_bool"], serde_json::json!(true));
    assert_eq!(first["col_int64"], serde_json::json!(1));
    assert!(first["col_int64"].is_i64());
    assert_eq!(first["col_float32"], serde_json::json!(1.5));
    assert_eq!(props[1].1["col_bool"], serde_json::json!(false));
    let last = props[3].1.as_object().unwrap();
    assert_eq!(last.len(), 11, "{last:?}");
    assert!(last.values().all(serde_json::Value::is_null), "{last:?}");
    // The nulls are JSON nulls, not missing keys.
    let typ: String = client
        .query_one(
            "SELECT jsonb_typeof(props->'col_float64') FROM onemap.features WHERE version_id = $1 AND fid = 4",
            &[&report.version_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(typ, "null");
}

#[tokio::test]
async fn the_same_polygons_in_4326_4490_4543_and_4522_keep_their_srids_and_agree_on_area() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let cases = [
        (
            "shandan_parcels_4326.geojson",
            4326,
            "GeoJSON (RFC 7946: EPSG:4326)",
        ),
        (
            "shandan_parcels_4490.geojson",
            4490,
            "GeoJSON crs member urn:ogc:def:crs:EPSG::4490",
        ),
        (
            "shandan_parcels_4543.gpkg",
            4543,
            "GeoPackage gpkg_spatial_ref_sys (EPSG:4543)",
        ),
        (
            "shandan_parcels_4522.gpkg",
            4522,
            "GeoPackage gpkg_spatial_ref_sys (EPSG:4522)",
        ),
    ];
    let mut areas = Vec::new();
    let mut boxes = Vec::new();
    for (i, (file, srid, source)) in cases.iter().enumerate() {
        let req = request(parcels(file), &format!("parcels_{i}"), "zrzy");
        let report = ingest(&mut client, &req).await.unwrap();
        assert_eq!(report.srid, *srid, "{file}");
        assert_eq!(report.srid_source, *source, "{file}");
        assert_eq!(report.features_written, 6, "{file}");
        let stored: i32 = client
            .query_one(
                "SELECT DISTINCT ST_SRID(geom) FROM onemap.features WHERE version_id = $1",
                &[&report.version_id],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(stored, *srid, "{file}");
        areas.push(total_area(&client, report.version_id).await);
        boxes.push(report.bbox.unwrap());
    }
    // About 7.2 km² of parcels near the county seat.
    assert!((7.0e6..7.3e6).contains(&areas[0]), "{areas:?}");
    for (a, b) in areas.iter().zip(&boxes) {
        assert!((a - areas[0]).abs() / areas[0] < 0.001, "{areas:?}");
        for k in 0..4 {
            assert!((b[k] - boxes[0][k]).abs() < 1e-5, "{boxes:?}");
        }
    }
}

#[tokio::test]
async fn a_malformed_geojson_names_the_file_and_feature_and_leaves_the_previous_version_as_it_was()
{
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let mut req = request(parcels("shandan_parcels_4326.geojson"), "dltb", "zrzy");
    req.year = Some(2023);
    let good = ingest(&mut client, &req).await.unwrap();
    let before_rows = version_rows(&client, good.version_id).await;
    let before_catalog = catalog_snapshot(&client).await;
    assert_eq!(before_rows.0, 6);

    for (file, feature, words) in [
        (
            "shandan_parcels_broken_geometry.geojson",
            4,
            "ring 1 of a polygon has 3 positions",
        ),
        ("shandan_parcels_truncated.geojson", 5, "EOF"),
    ] {
        let mut bad = request(parcels(file), "dltb", "zrzy");
        bad.year = Some(2024);
        let err = ingest(&mut client, &bad).await.unwrap_err();
        match &err {
            IngestError::Feature { feature: n, .. } => assert_eq!(*n, feature, "{err}"),
            other => panic!("{file}: expected a feature error, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains(file), "{msg}");
        assert!(msg.contains(&format!("feature {feature}")), "{msg}");
        assert!(msg.contains(words), "{msg}");

        // The same connection still works, and nothing changed.
        assert_eq!(version_rows(&client, good.version_id).await, before_rows);
        assert_eq!(catalog_snapshot(&client).await, before_catalog);
        assert_eq!(partition_count(&client).await, 1);
    }
}

#[tokio::test]
async fn a_new_version_of_the_same_layer_becomes_the_newest() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let mut first = request(parcels("shandan_parcels_4326.geojson"), "dltb", "zrzy");
    first.year = Some(2023);
    let v2023 = ingest(&mut client, &first).await.unwrap();
    let mut second = request(parcels("shandan_parcels_4543.gpkg"), "dltb", "zrzy");
    second.year = Some(2024);
    let v2024 = ingest(&mut client, &second).await.unwrap();
    assert!(!v2024.created_layer);
    assert!(v2024.version_id > v2023.version_id);
    let mut again = request(parcels("shandan_parcels_4522.gpkg"), "dltb", "zrzy");
    again.year = Some(2024);
    again.label = Some("2024 corrected".into());
    let v2024b = ingest(&mut client, &again).await.unwrap();

    let layer = catalog::layer(&client, &Principal::Anonymous, "dltb")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(layer.versions.len(), 3);
    assert_eq!(layer.version(None).unwrap().id, v2024b.version_id);
    assert_eq!(layer.version(Some(2024)).unwrap().label, "2024 corrected");
    assert_eq!(layer.version(Some(2023)).unwrap().id, v2023.version_id);
    // Older versions stay readable through the parent table.
    assert_eq!(version_rows(&client, v2023.version_id).await.0, 6);
    assert_eq!(version_rows(&client, v2024.version_id).await.0, 6);
}

#[tokio::test]
async fn re_ingesting_the_identical_file_is_unchanged() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let mut req = request(parcels("shandan_parcels_4543.gpkg"), "dltb", "zrzy");
    req.year = Some(2024);
    let first: IngestReport = ingest(&mut client, &req).await.unwrap();
    let before = catalog_snapshot(&client).await;
    let again = ingest(&mut client, &req).await.unwrap();
    assert!(again.unchanged);
    assert!(!again.created_layer);
    assert_eq!(again.version_id, first.version_id);
    assert_eq!(again.features_written, first.features_written);
    assert_eq!(again.bbox, first.bbox);
    assert_eq!(again.srid, 4543);
    assert_eq!(again.label, first.label);
    assert_eq!(catalog_snapshot(&client).await, before);
    assert_eq!(partition_count(&client).await, 1);

    // Another year is another version, even from the same file.
    req.year = Some(2025);
    let other_year = ingest(&mut client, &req).await.unwrap();
    assert!(!other_year.unchanged);
    assert_ne!(other_year.version_id, first.version_id);
}

#[tokio::test]
async fn an_unknown_department_is_refused_with_the_valid_codes() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let req = request(parcels("shandan_parcels_4326.geojson"), "dltb", "nobody");
    let err = ingest(&mut client, &req).await.unwrap_err();
    assert!(
        matches!(err, IngestError::UnknownDepartment { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("nobody") && msg.contains("zrzy") && msg.contains("lcj"),
        "{msg}"
    );
    assert!(catalog_snapshot(&client).await.is_empty());
}

#[tokio::test]
async fn only_the_owning_department_publishes_new_versions() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    ingest(
        &mut client,
        &request(parcels("shandan_parcels_4326.geojson"), "dltb", "zrzy"),
    )
    .await
    .unwrap();
    let err = ingest(
        &mut client,
        &request(parcels("shandan_parcels_4543.gpkg"), "dltb", "lcj"),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, IngestError::NotOwner { .. }), "{err:?}");
    assert_eq!(catalog_snapshot(&client).await.len(), 1);
}

#[tokio::test]
async fn a_geometry_type_mismatch_is_refused() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    ingest(
        &mut client,
        &request(parcels("shandan_parcels_4326.geojson"), "dltb", "zrzy"),
    )
    .await
    .unwrap();
    // A GeoPackage declaring points, refused before any row is read.
    let points = request(
        fixture("external/geopackage/test_gpkg_nulls.gpkg"),
        "dltb",
        "zrzy",
    );
    let err = ingest(&mut client, &points).await.unwrap_err();
    assert!(
        matches!(&err, IngestError::GeometryTypeMismatch { layer_type, file_type, .. }
            if layer_type == "polygon" && file_type == "point"),
        "{err:?}"
    );
    // A GeoJSON whose second feature is a line, refused at that feature.
    let lines = temp_geojson(
        "dltb_lines.geojson",
        r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[101.0,38.7],[101.1,38.8]]}}]}"#,
    );
    let err = ingest(&mut client, &request(lines.clone(), "dltb", "zrzy"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&file_name(&lines)), "{err}");
    assert!(
        matches!(
            &err,
            IngestError::GeometryTypeMismatch {
                feature: Some(1),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(catalog_snapshot(&client).await.len(), 1);
    assert_eq!(partition_count(&client).await, 1);
}

#[tokio::test]
async fn a_file_mixing_points_and_polygons_is_refused() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let mixed = temp_geojson(
        "mixed.geojson",
        r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"a":1},"geometry":{"type":"MultiPolygon","coordinates":[[[[101,38],[101.1,38],[101.1,38.1],[101,38]]]]}},
            {"type":"Feature","properties":{"a":2},"geometry":{"type":"Point","coordinates":[101,38]}}]}"#,
    );
    let err = ingest(&mut client, &request(mixed, "mixed", "zrzy"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, IngestError::MixedGeometry { feature: 2, .. }),
        "{err:?}"
    );
    assert!(catalog_snapshot(&client).await.is_empty());
    let layers: i64 = client
        .query_one("SELECT count(*) FROM onemap.layers", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(layers, 0);
}

#[tokio::test]
async fn a_file_without_a_recognisable_crs_is_refused_unless_srid_is_given() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    for file in [
        "shandan_parcels_undefined_srs.gpkg",
        "shandan_parcels_local_srs.gpkg",
    ] {
        let req = request(parcels(file), "parcels", "zrzy");
        let err = ingest(&mut client, &req).await.unwrap_err();
        assert!(
            matches!(err, IngestError::UnknownCrs { .. }),
            "{file}: {err:?}"
        );
        assert!(err.to_string().contains("--srid"), "{err}");
        assert!(err.to_string().contains(file), "{err}");
    }
    let unnamed = temp_geojson(
        "linked_crs.geojson",
        r#"{"type":"FeatureCollection","crs":{"type":"link","properties":{"href":"x.prj"}},"features":[]}"#,
    );
    let err = ingest(&mut client, &request(unnamed, "parcels", "zrzy"))
        .await
        .unwrap_err();
    assert!(matches!(err, IngestError::UnknownCrs { .. }), "{err:?}");
    assert!(catalog_snapshot(&client).await.is_empty());

    let mut req = request(
        parcels("shandan_parcels_undefined_srs.gpkg"),
        "parcels",
        "zrzy",
    );
    req.srid = Some(4543);
    let report = ingest(&mut client, &req).await.unwrap();
    assert_eq!((report.srid, report.srid_source.as_str()), (4543, "--srid"));
    assert_eq!(report.features_written, 6);
    let [w, s, _, _] = report.bbox.unwrap();
    assert!(
        (101.0..101.1).contains(&w) && (38.7..38.8).contains(&s),
        "{w} {s}"
    );

    req.srid = Some(999_999);
    req.layer = "parcels_bad_srid".into();
    let err = ingest(&mut client, &req).await.unwrap_err();
    assert!(
        matches!(err, IngestError::UnknownSrid { srid: 999_999, .. }),
        "{err:?}"
    );
}

/// Timing of a large file: `ONEMAP_INGEST_BENCH_FILE=/path/big.gpkg cargo test -p onemap-tests
/// --test ingest -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "needs a large file named by ONEMAP_INGEST_BENCH_FILE"]
async fn a_large_file_ingests_and_reports_its_timing() {
    let Some(path) = std::env::var_os("ONEMAP_INGEST_BENCH_FILE") else {
        return;
    };
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let mut req = request(PathBuf::from(path), "bench", "zrzy");
    req.year = Some(2024);
    let started = std::time::Instant::now();
    let report = ingest(&mut client, &req).await.unwrap();
    eprintln!(
        "{} features in {:.1} s: {}",
        report.features_written,
        started.elapsed().as_secs_f64(),
        serde_json::to_string(&report).unwrap()
    );
    assert_eq!(
        version_rows(&client, report.version_id).await.0 as u64,
        report.features_written
    );
}

#[tokio::test]
async fn a_single_geojson_feature_with_a_legacy_epsg_name_ingests() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let path = temp_geojson(
        "single_feature.geojson",
        r#"{"type":"Feature","crs":{"type":"name","properties":{"name":"EPSG:4490"}},
            "properties":{"名称":"山丹县城"},"geometry":{"type":"Point","coordinates":[101.088,38.784]}}"#,
    );
    let report = ingest(&mut client, &request(path, "county_seat", "zrzy"))
        .await
        .unwrap();
    assert_eq!(report.features_written, 1);
    assert_eq!(report.geometry_type, "point");
    assert_eq!(report.srid, 4490);
    assert_eq!(report.srid_source, "GeoJSON crs member EPSG:4490");
    let name: String = client
        .query_one(
            "SELECT props->>'名称' FROM onemap.features WHERE version_id = $1",
            &[&report.version_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(name, "山丹县城");
}

#[tokio::test]
async fn z_and_m_are_dropped_and_curves_are_linearised_with_notes() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let req = request(
        fixture("external/geopackage/line_zm.gpkg"),
        "border_line",
        "zrzy",
    );
    let report = ingest(&mut client, &req).await.unwrap();
    assert_eq!(report.geometry_type, "line");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("ZM values dropped")),
        "{:?}",
        report.notes
    );
    let dims: i16 = client
        .query_one(
            "SELECT ST_NDims(geom)::int2 FROM onemap.features WHERE version_id = $1",
            &[&report.version_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(dims, 2);

    // pyogrio's CurvePolygon and MultiSurface (of a CurvePolygon), both with straight rings.
    for (file, layer) in [
        ("curvepolygon.gpkg", "curvepolygon"),
        ("multisurface.gpkg", "multisurface"),
    ] {
        let req = request(
            fixture(&format!("external/geopackage/{file}")),
            layer,
            "zrzy",
        );
        let report = ingest(&mut client, &req).await.unwrap();
        assert_eq!(report.geometry_type, "polygon", "{file}");
        assert_eq!(report.features_written, 1, "{file}");
        assert!(
            report
                .notes
                .iter()
                .any(|n| n.starts_with("1 curved geometries") && n.contains("linearised")),
            "{file}: {:?}",
            report.notes
        );
        let (points, arcs): (i32, bool) = client
            .query_one(
                "SELECT ST_NPoints(geom), ST_HasArc(geom) FROM onemap.features
                  WHERE version_id = $1",
                &[&report.version_id],
            )
            .await
            .map(|r| (r.get(0), r.get(1)))
            .unwrap();
        assert_eq!((points, arcs), (4, false), "{file}");
    }
    assert_eq!(catalog_snapshot(&client).await.len(), 3);
}

#[tokio::test]
async fn a_geopackage_with_several_tables_needs_the_source_layer() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let mut req = request(parcels("two_tables.gpkg"), "two", "zrzy");
    let err = ingest(&mut client, &req).await.unwrap_err();
    assert!(matches!(err, IngestError::SourceLayer { .. }), "{err:?}");
    assert!(err.to_string().contains("parcels, points"), "{err}");
    req.source_layer = Some("points".into());
    let report = ingest(&mut client, &req).await.unwrap();
    assert_eq!(
        (report.features_written, report.geometry_type.as_str()),
        (4, "point")
    );
}

#[tokio::test]
async fn a_feature_the_database_refuses_is_named_by_its_number() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let path = temp_geojson(
        "outside_projection.geojson",
        r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:4543"}},"features":[
            {"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[560000,4290000]}},
            {"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1e20,1e20]}}]}"#,
    );
    let err = ingest(&mut client, &request(path, "wells", "sw"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, IngestError::Feature { feature: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("outside_projection.geojson"),
        "{err}"
    );
    assert!(catalog_snapshot(&client).await.is_empty());
    assert_eq!(partition_count(&client).await, 0);
}
