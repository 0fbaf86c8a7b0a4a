//! Ingest of WKT2 coordinate systems (QGIS 3 style `.prj`, with or without an EPSG code),
//! curved geometries (linearised and counted), Z values (dropped with a note), and the Esri
//! File Geodatabase: read through GDAL with the `gdal` feature, refused with the feature's name
//! without it.

mod helpers;

use std::path::PathBuf;

use helpers::{fixture, TestDb};
use onemap_ingest::{identify_wkt, ingest, IngestRequest};
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

/// `(EPSG code, single-line WKT2)` pairs written by `gdalsrsinfo -o wkt2 --single-line`.
fn epsg_wkt2() -> Vec<(i32, String)> {
    std::fs::read_to_string(fixture("ingest/wkt2/epsg_wkt2.tsv"))
        .unwrap()
        .lines()
        .map(|l| {
            let (code, wkt) = l.split_once('\t').unwrap();
            (code.parse().unwrap(), wkt.to_owned())
        })
        .collect()
}

/// `wkt` without any `ID["EPSG",n]` (as QGIS writes a custom or stripped CRS).
fn without_ids(wkt: &str) -> String {
    let mut out = wkt.to_owned();
    while let Some(at) = out.find(",ID[\"EPSG\",") {
        let end = at + out[at..].find(']').unwrap() + 1;
        out.replace_range(at..end, "");
    }
    assert!(!out.contains(",ID["), "{out}");
    out
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

#[tokio::test]
async fn wkt2_with_its_epsg_id_is_taken_at_its_word() {
    let db = TestDb::new().await;
    let client = db.client().await;
    for (code, wkt) in epsg_wkt2() {
        if code == 4479 {
            continue; // geocentric, refused below
        }
        let (srid, how) = identify_wkt(&client, &wkt).await.unwrap();
        assert_eq!(srid, code, "{how}");
        assert!(how.contains(&format!("EPSG:{code}")), "{how}");
    }
}

#[tokio::test]
async fn wkt2_without_ids_is_identified_for_cgcs2000_and_every_3_degree_gauss_kruger_zone() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let mut checked = 0;
    for (code, wkt) in epsg_wkt2() {
        // Pseudo-Mercator's WKT2 method has no WKT1 counterpart in spatial_ref_sys; the
        // geocentric CRS is refused below.
        if code == 3857 || code == 4479 {
            continue;
        }
        let bare = without_ids(&wkt);
        let (srid, how) = identify_wkt(&client, &bare)
            .await
            .unwrap_or_else(|e| panic!("EPSG:{code}: {e}"));
        assert_eq!(srid, code, "EPSG:{code} identified as {srid}: {how}");
        assert!(how.contains("by its parameters"), "{how}");
        checked += 1;
    }
    // 4326, 4490, the 42 zones 4513-4554 and UTM 48N.
    assert_eq!(checked, 45);
}

#[tokio::test]
async fn a_wkt2_geocentric_crs_is_refused_with_the_reason() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let (_, wkt) = epsg_wkt2().into_iter().find(|(c, _)| *c == 4479).unwrap();
    let err = identify_wkt(&client, &without_ids(&wkt)).await.unwrap_err();
    assert!(
        err.contains("GEODCRS") && err.contains("rather than a geographic or projected CRS"),
        "{err}"
    );
}

#[tokio::test]
async fn shapefiles_with_a_wkt2_prj_and_no_code_ingest_with_their_epsg_code_and_agree_on_area() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let mut areas = Vec::new();
    for code in [4490, 4522, 4543] {
        let path = fixture(&format!("ingest/wkt2/parcels_{code}_wkt2.shp"));
        let report = ingest(&mut client, &request(path, &format!("wkt2_{code}")))
            .await
            .unwrap();
        assert_eq!(report.srid, code, "{}", report.srid_source);
        assert!(
            report.srid_source.contains("by its parameters"),
            "{}",
            report.srid_source
        );
        assert_eq!(report.features_written, 6);
        areas.push(total_area(&client, report.version_id).await);
    }
    for a in &areas[1..] {
        assert!(
            (a / areas[0] - 1.0).abs() < 0.001,
            "areas disagree: {areas:?}"
        );
    }
}

#[tokio::test]
async fn curved_geometries_are_linearised_counted_and_keep_their_area() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let path = fixture("ingest/curves/shandan_curves_4522.gpkg");
    let report = ingest(&mut client, &request(path, "curves")).await.unwrap();
    assert_eq!(report.srid, 4522);
    assert_eq!(report.geometry_type, "polygon");
    assert_eq!(report.features_read, 4);
    assert_eq!(report.features_written, 4);
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("3 curved geometries") && n.contains("linearised")),
        "{:?}",
        report.notes
    );
    let rows = client
        .query(
            "SELECT props->>'名称', area_m2, ST_HasArc(geom), ST_IsValid(geom),
                    ST_NPoints(geom), GeometryType(geom)
               FROM onemap.features WHERE version_id = $1 ORDER BY fid",
            &[&report.version_id],
        )
        .await
        .unwrap();
    let pi = std::f64::consts::PI;
    // A circle of radius 100 m; a half circle on a 200 m square; a circle and a 100 m square;
    // a 100 m square. Grid areas: Gauss-Krüger scale near 101.1°E changes them by ~0.015%.
    let expected = [
        ("圆形样地", pi * 1e4),
        ("复合曲线地块", pi * 1e4 / 2.0 + 4e4),
        ("多曲面", pi * 1e4 + 1e4),
        ("普通多边形", 1e4),
    ];
    assert_eq!(rows.len(), 4);
    for (row, (name, area)) in rows.iter().zip(expected) {
        assert_eq!(row.get::<_, String>(0), name);
        let got: f64 = row.get(1);
        assert!(
            (got / area - 1.0).abs() < 0.001,
            "{name}: area {got} m², expected {area}"
        );
        assert!(!row.get::<_, bool>(2), "{name} still has arcs");
        assert!(row.get::<_, bool>(3), "{name} is not valid");
        assert_eq!(row.get::<_, String>(5), "MULTIPOLYGON");
    }
    // 32 segments per quarter circle: a full circle is 128 segments, 129 points.
    assert_eq!(rows[0].get::<_, i32>(4), 129);
}

#[tokio::test]
async fn z_values_are_dropped_with_a_note() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let path = fixture("ingest/curves/shandan_polygon_z_4522.gpkg");
    let report = ingest(&mut client, &request(path, "polygon_z"))
        .await
        .unwrap();
    assert_eq!(report.features_written, 1);
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("Z values dropped")),
        "{:?}",
        report.notes
    );
    let row = client
        .query_one(
            "SELECT ST_NDims(geom), ST_NPoints(geom), area_m2 FROM onemap.features
              WHERE version_id = $1",
            &[&report.version_id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i16>(0), 2);
    assert_eq!(row.get::<_, i32>(1), 4);
    let area: f64 = row.get(2);
    assert!((area / 2e4 - 1.0).abs() < 0.001, "{area}");
}

/// A File Geodatabase folder written by `ogr2ogr -f OpenFileGDB` (GDAL 3.6).
fn gdb() -> PathBuf {
    fixture("ingest/gdb/shandan_parcels_4522.gdb")
}

#[cfg(not(feature = "gdal"))]
#[tokio::test]
async fn without_the_gdal_feature_a_file_geodatabase_is_refused_naming_the_feature() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    for path in [gdb(), fixture("ingest/gdb/shandan_parcels_4522.gdb.zip")] {
        let err = ingest(&mut client, &request(path.clone(), "gdb"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, onemap_ingest::IngestError::FeatureNotBuilt { .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("shandan_parcels_4522.gdb"), "{msg}");
        assert!(msg.contains("--features gdal"), "{msg}");
    }
    assert_eq!(versions(&client).await, 0);
}

#[cfg(feature = "gdal")]
#[tokio::test]
async fn a_file_geodatabase_folder_and_its_zip_ingest_with_srid_and_chinese_text() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    for (path, layer) in [
        (gdb(), "gdb"),
        (
            fixture("ingest/gdb/shandan_parcels_4522.gdb.zip"),
            "gdb_zip",
        ),
    ] {
        let report = ingest(&mut client, &request(path, layer)).await.unwrap();
        assert_eq!(report.features_read, 6);
        assert_eq!(report.features_written, 6);
        assert_eq!(report.srid, 4522, "{}", report.srid_source);
        assert_eq!(report.geometry_type, "polygon");
        let classes: Vec<String> = client
            .query(
                "SELECT props->>'DLMC' FROM onemap.features WHERE version_id = $1 ORDER BY fid",
                &[&report.version_id],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(classes.iter().any(|c| c == "水田"), "{classes:?}");
        let area = total_area(&client, report.version_id).await;
        let reference = {
            let r = ingest(
                &mut client,
                &request(
                    fixture("ingest/shandan_parcels_4326.geojson"),
                    &format!("{layer}_ref"),
                ),
            )
            .await
            .unwrap();
            total_area(&client, r.version_id).await
        };
        assert!(
            (area / reference - 1.0).abs() < 0.001,
            "{area} vs {reference}"
        );
    }
}

#[cfg(feature = "gdal")]
#[tokio::test]
async fn a_file_geodatabase_layer_is_chosen_with_source_layer() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let mut req = request(gdb(), "gdb_layer");
    req.source_layer = Some("no_such_layer".into());
    let err = ingest(&mut client, &req).await.unwrap_err();
    assert!(err.to_string().contains("shandan_parcels"), "{err}");
    assert_eq!(
        versions(&client).await,
        0,
        "a refused file publishes nothing"
    );
    req.source_layer = Some("shandan_parcels".into());
    let report = ingest(&mut client, &req).await.unwrap();
    assert_eq!(report.features_written, 6);
}

#[tokio::test]
async fn a_flatgeobuf_crs_known_only_by_its_header_wkt_is_reported_as_found_there() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let report = ingest(
        &mut client,
        &request(fixture("ingest/fgb/parcels_custom_wkt.fgb"), "fgb_wkt"),
    )
    .await
    .unwrap();
    assert_eq!(report.features_written, 6);
    assert_eq!(report.srid, 4543, "{}", report.srid_source);
    let how = &report.srid_source;
    assert!(how.starts_with("FlatGeobuf header's CRS WKT"), "{how}");
    assert!(how.contains("Shandan_GK_CM_102E"), "{how}");
    assert!(!how.contains(".prj"), "{how}");
}

#[cfg(feature = "gdal")]
#[tokio::test]
async fn a_file_geodatabase_crs_known_only_by_its_wkt_is_reported_as_the_feature_class_wkt() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let report = ingest(
        &mut client,
        &request(
            fixture("ingest/gdb/shandan_parcels_custom_wkt.gdb"),
            "gdb_wkt",
        ),
    )
    .await
    .unwrap();
    assert_eq!(report.features_written, 6);
    assert_eq!(report.srid, 4543, "{}", report.srid_source);
    let how = &report.srid_source;
    assert!(
        how.starts_with("File Geodatabase feature class \"shandan_parcels\"'s WKT"),
        "{how}"
    );
    assert!(!how.contains(".prj"), "{how}");
}
