//! GeoPackages whose SRS is not under EPSG but carries a WKT (or WKT2) definition, identified
//! from that definition like a `.prj`; and curves in a CSV's WKT column, linearised like the
//! other readers' curves and counted.

mod helpers;

use std::path::PathBuf;

use helpers::zones::{assert_zones_derived_as_postgis, forbid_server_derivation, Zone};
use helpers::{fixture, TestDb};
use onemap_ingest::{ingest, IngestError, IngestReport, IngestRequest};
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

/// `(fid, area_m2)` of a version's features, in fid order.
async fn areas(client: &Client, version_id: i64) -> Vec<(i64, f64)> {
    client
        .query(
            "SELECT fid, area_m2 FROM onemap.features WHERE version_id = $1 ORDER BY fid",
            &[&version_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

fn assert_same_areas(a: &[(i64, f64)], b: &[(i64, f64)], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for ((fa, aa), (fb, ab)) in a.iter().zip(b) {
        assert_eq!(fa, fb, "{what}");
        assert!(
            (aa / ab - 1.0).abs() < 1e-9,
            "{what}: fid {fa}: {aa} m² vs {ab} m²"
        );
    }
}

async fn versions(client: &Client) -> i64 {
    client
        .query_one("SELECT count(*) FROM onemap.layer_versions", &[])
        .await
        .unwrap()
        .get(0)
}

fn assert_found_from_the_gpkg_wkt(report: &IngestReport, srid: i32, column: &str) {
    assert_eq!(report.srid, srid, "{}", report.srid_source);
    let how = &report.srid_source;
    assert!(how.starts_with("GeoPackage's WKT definition"), "{how}");
    assert!(how.contains(column), "{how}");
    assert!(how.contains(&format!("EPSG:{srid}")), "{how}");
    assert!(!how.contains(".prj"), "{how}");
}

#[tokio::test]
async fn a_geopackage_srs_of_organization_none_is_identified_from_its_wkt_definition() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let path = fixture("ingest/shandan_parcels_none_srs_wkt.gpkg");
    let report = ingest(&mut client, &request(path, "none_srs"))
        .await
        .unwrap();
    assert_found_from_the_gpkg_wkt(&report, 4543, "(definition)");
    assert!(
        report.srid_source.contains("srs_id 100002"),
        "{}",
        report.srid_source
    );
    assert_eq!(report.features_written, 6);
    // The same parcels with their EPSG code: the same areas.
    let reference = ingest(
        &mut client,
        &request(fixture("ingest/shandan_parcels_4543.gpkg"), "epsg_srs"),
    )
    .await
    .unwrap();
    assert_eq!(reference.srid, 4543);
    assert_same_areas(
        &areas(&client, report.version_id).await,
        &areas(&client, reference.version_id).await,
        "NONE SRS vs EPSG:4543",
    );
}

#[tokio::test]
async fn a_custom_srs_with_only_a_wkt2_definition_is_identified_from_definition_12_063() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let path = fixture("ingest/shandan_parcels_custom_srs_wkt2.gpkg");
    let report = ingest(&mut client, &request(path, "wkt2_srs"))
        .await
        .unwrap();
    assert_found_from_the_gpkg_wkt(&report, 4522, "(definition_12_063)");
    assert!(
        report.srid_source.contains("SHANDAN:7"),
        "{}",
        report.srid_source
    );
    assert_eq!(report.features_written, 6);
    let reference = ingest(
        &mut client,
        &request(fixture("ingest/shandan_parcels_4522.gpkg"), "epsg_srs"),
    )
    .await
    .unwrap();
    assert_same_areas(
        &areas(&client, report.version_id).await,
        &areas(&client, reference.version_id).await,
        "custom WKT2 SRS vs EPSG:4522",
    );
}

#[tokio::test]
async fn an_unidentifiable_geopackage_wkt_definition_is_refused_naming_the_file_and_the_srs() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let file = "shandan_parcels_unidentifiable_srs_wkt.gpkg";
    let err = ingest(
        &mut client,
        &request(fixture(&format!("ingest/{file}")), "odd_srs"),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, IngestError::UnknownCrs { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(file), "{msg}");
    assert!(msg.contains("srs_id 100004"), "{msg}");
    assert!(msg.contains("Shandan local TM 101.5E"), "{msg}");
    assert!(msg.contains("matches no EPSG"), "{msg}");
    assert!(msg.contains("--srid"), "{msg}");
    assert_eq!(versions(&client).await, 0);

    // A LOCAL_CS definition (an SRS of its own organization) is refused too.
    let file = "shandan_parcels_local_srs.gpkg";
    let err = ingest(
        &mut client,
        &request(fixture(&format!("ingest/{file}")), "odd_srs"),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, IngestError::UnknownCrs { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(file) && msg.contains("SHANDAN:1"), "{msg}");
    assert_eq!(versions(&client).await, 0);
}

#[tokio::test]
async fn curves_in_a_csv_wkt_column_are_linearised_counted_and_match_the_geopackage() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let mut req = request(fixture("ingest/curves/curves.csv"), "csv_curves");
    req.srid = Some(4522);
    let report = ingest(&mut client, &req).await.unwrap();
    assert_eq!(report.features_read, 4);
    assert_eq!(report.features_written, 4);
    assert_eq!(report.features_rejected, 0, "{:?}", report.rejections);
    assert_eq!(report.geometry_type, "polygon");
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
            "SELECT props->>'名称', ST_HasArc(geom), ST_IsValid(geom), ST_NPoints(geom),
                    GeometryType(geom)
               FROM onemap.features WHERE version_id = $1 ORDER BY fid",
            &[&report.version_id],
        )
        .await
        .unwrap();
    let names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(names, ["圆形样地", "复合曲线地块", "多曲面", "普通多边形"]);
    for row in &rows {
        assert!(!row.get::<_, bool>(1), "still has arcs");
        assert!(row.get::<_, bool>(2), "not valid");
        assert_eq!(row.get::<_, String>(4), "MULTIPOLYGON");
    }
    // 32 segments per quarter circle: a full circle is 128 segments, 129 points.
    assert_eq!(rows[0].get::<_, i32>(3), 129);

    // The same curves from the GeoPackage: the same linearisation, the same areas.
    let gpkg = ingest(
        &mut client,
        &request(
            fixture("ingest/curves/shandan_curves_4522.gpkg"),
            "gpkg_curves",
        ),
    )
    .await
    .unwrap();
    let (from_csv, from_gpkg) = (
        areas(&client, report.version_id).await,
        areas(&client, gpkg.version_id).await,
    );
    let pi = std::f64::consts::PI;
    for (i, expected) in [pi * 1e4, pi * 1e4 / 2.0 + 4e4, pi * 1e4 + 1e4, 1e4]
        .into_iter()
        .enumerate()
    {
        assert!(
            (from_csv[i].1 - from_gpkg[i].1).abs() <= 1e-9 * from_gpkg[i].1,
            "feature {}: {} vs {}",
            i + 1,
            from_csv[i].1,
            from_gpkg[i].1
        );
        assert!((from_csv[i].1 / expected - 1.0).abs() < 0.001);
    }
}

#[tokio::test]
async fn a_broken_curve_in_a_csv_rejects_its_row_with_the_line_and_loads_the_others() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let dir = std::env::temp_dir().join(format!("onemap-formats3-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken_curve.csv");
    std::fs::write(
        &path,
        "id,wkt\n\
         1,\"CURVEPOLYGON(CIRCULARSTRING(34422000 4297000,34422200 4297000,34422000 4297000))\"\n\
         2,\"CURVEPOLYGON(CIRCULARSTRING(34423000 4297000,34423200,34423000 4297000))\"\n\
         3,\"MULTISURFACE Z (CURVEPOLYGON Z (CIRCULARSTRING Z (34424000 4297000 1,34424100 4297100 1,34424200 4297000 1,34424100 4296900 1,34424000 4297000 1)))\"\n",
    )
    .unwrap();
    let mut req = request(path, "broken_curve");
    req.srid = Some(4522);
    let report = ingest(&mut client, &req).await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(report.features_written, 2);
    assert_eq!(report.features_rejected, 1);
    let r = &report.rejections[0];
    assert_eq!(r.field.as_deref(), Some("wkt"));
    assert!(r.reason.contains("line 3"), "{}", r.reason);
    assert!(
        r.reason.contains("expected 2 numbers per position"),
        "{}",
        r.reason
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("2 curved geometries")),
        "{:?}",
        report.notes
    );
    assert!(
        report.notes.iter().any(|n| n.contains("Z/M values")),
        "{:?}",
        report.notes
    );
}

#[tokio::test]
async fn gauss_kruger_zones_are_derived_in_the_client_as_postgis_derives_them() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    forbid_server_derivation(&client).await;
    // Parcels over the whole band of each CGCS2000 3° zone, from 18°N to 53°N and out to 1.6°
    // from its central meridian.
    let zones: Vec<Zone> = (4513..=4554)
        .map(|srid| Zone {
            srid,
            geographic: 4490,
            cm: if srid <= 4533 {
                3.0 * f64::from(srid - 4488)
            } else {
                75.0 + 3.0 * f64::from(srid - 4534)
            },
            offsets: &[-1.6, -0.7, 0.0, 0.45, 1.2, 1.6],
            lats: &[18.2, 31.0, 38.8, 45.5, 53.4],
        })
        .collect();
    let (worst_area, worst_mercator) = assert_zones_derived_as_postgis(&mut client, &zones).await;
    eprintln!("worst relative area difference {worst_area:e}, worst Web-Mercator distance {worst_mercator:e} m");
}
