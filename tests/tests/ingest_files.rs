//! Ingest of what departments send beyond GeoJSON and GeoPackage: shapefiles in various text
//! encodings and CRSs (identified from their `.prj`), zip archives, the real third-party files
//! in `fixtures/external/`, and the geometry repairs reported on the way.

mod helpers;

use std::path::PathBuf;

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

fn shp(name: &str) -> PathBuf {
    fixture(&format!("ingest/shp/{name}"))
}

async fn strings(client: &Client, version_id: i64, key: &str) -> Vec<String> {
    client
        .query(
            "SELECT props->>$2 FROM onemap.features WHERE version_id = $1 ORDER BY fid",
            &[&version_id, &key],
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

async fn geometry_types(client: &Client, version_id: i64) -> Vec<String> {
    client
        .query(
            "SELECT DISTINCT GeometryType(geom) FROM onemap.features WHERE version_id = $1",
            &[&version_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn versions(client: &Client) -> i64 {
    client
        .query_one("SELECT count(*) FROM onemap.layer_versions", &[])
        .await
        .unwrap()
        .get(0)
}

/// A folder of its own under the system's temporary folder.
fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("onemap-ingest-files-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copies the shapefile `stem` from the fixtures into `dir`, with `prj` as its `.prj`.
fn copy_shapefile(stem: &str, dir: &std::path::Path, prj: Option<&str>) -> PathBuf {
    for ext in ["shp", "shx", "dbf", "cpg"] {
        std::fs::copy(
            shp(&format!("{stem}.{ext}")),
            dir.join(format!("{stem}.{ext}")),
        )
        .unwrap();
    }
    if let Some(prj) = prj {
        std::fs::write(dir.join(format!("{stem}.prj")), prj).unwrap();
    }
    dir.join(format!("{stem}.shp"))
}

#[tokio::test]
async fn a_gbk_shapefile_arrives_as_utf_8_whichever_way_its_encoding_is_found() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let cases = [
        ("parcels_gbk.shp", None, "GBK", ".cpg file (CP936)"),
        (
            "parcels_gbk_ldid.shp",
            None,
            "GBK",
            "DBF language driver 0x4D",
        ),
        (
            "parcels_gbk_nocpg.shp",
            None,
            "gb18030",
            "no .cpg, no language driver byte; detected: ",
        ),
        (
            "parcels_gbk_nocpg.shp",
            Some("CP936"),
            "GBK",
            "--encoding CP936",
        ),
    ];
    for (i, (file, given, name, source)) in cases.iter().enumerate() {
        let mut req = request(shp(file), &format!("gbk_{i}"));
        req.encoding = given.map(str::to_owned);
        let report = ingest(&mut client, &req).await.unwrap();
        assert_eq!(report.features_written, 6, "{file}");
        assert_eq!(report.encoding.as_deref(), Some(*name), "{file}");
        let found = report.encoding_source.clone().unwrap();
        assert!(found.starts_with(source), "{file}: {found}");
        let names = strings(&client, report.version_id, "DLMC").await;
        assert_eq!(names[3], "天然牧草地", "{file}: {names:?}");
        assert!(names.iter().all(|n| !n.contains('\u{fffd}')), "{names:?}");
        assert_eq!(report.srid, 4326, "{file}");
        assert!(
            report.srid_source.contains("matches EPSG:4326"),
            "{}",
            report.srid_source
        );
        // DLBM codes stay text with their leading zeros.
        let codes = strings(&client, report.version_id, "DLBM").await;
        assert!(
            codes
                .iter()
                .all(|c| c.starts_with('0') || c.starts_with('1')),
            "{codes:?}"
        );
    }
    // Latin-1 read as Latin-1 when told so, and an unknown name refused.
    let mut req = request(shp("parcels_gbk.shp"), "bad_encoding");
    req.encoding = Some("klingon".into());
    let err = ingest(&mut client, &req).await.unwrap_err();
    assert!(err.to_string().contains("klingon"), "{err}");
}

#[tokio::test]
async fn esri_prj_files_are_identified_and_every_crs_copy_agrees_on_area() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let cases = [
        ("parcels_gbk.shp", 4326, "GCS_WGS_1984"),
        (
            "parcels_4490.shp",
            4490,
            "GCS_China_Geodetic_Coordinate_System_2000",
        ),
        ("parcels_4522.shp", 4522, "CGCS2000_3_Degree_GK_Zone_34"),
        ("parcels_4543.shp", 4543, "CGCS2000_3_Degree_GK_CM_102E"),
        ("parcels_4522.zip", 4522, "CGCS2000_3_Degree_GK_Zone_34"),
    ];
    let mut areas = Vec::new();
    for (i, (file, srid, name)) in cases.iter().enumerate() {
        let report = ingest(&mut client, &request(shp(file), &format!("crs_{i}")))
            .await
            .unwrap();
        assert_eq!(report.srid, *srid, "{file}: {}", report.srid_source);
        assert!(
            report.srid_source.contains(name)
                && report.srid_source.contains(&format!("EPSG:{srid}")),
            "{file}: {}",
            report.srid_source
        );
        let stored: i32 = client
            .query_one(
                "SELECT DISTINCT ST_SRID(geom) FROM onemap.features WHERE version_id = $1",
                &[&report.version_id],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(stored, *srid);
        areas.push(total_area(&client, report.version_id).await);
    }
    assert!((7.0e6..7.3e6).contains(&areas[0]), "{areas:?}");
    for a in &areas {
        assert!((a - areas[0]).abs() / areas[0] < 0.001, "{areas:?}");
    }
}

#[tokio::test]
async fn a_prj_that_matches_no_epsg_crs_is_refused_unless_srid_is_given() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let dir = temp_dir("odd_prj");
    // Zone 34's parameters with a false easting no EPSG definition has.
    let prj = std::fs::read_to_string(shp("parcels_4543.prj"))
        .unwrap()
        .replace("CGCS2000_3_Degree_GK_CM_102E", "Shandan_local")
        .replace("500000.0", "512345.0");
    let path = copy_shapefile("parcels_4543", &dir, Some(&prj));
    let err = ingest(&mut client, &request(path.clone(), "odd"))
        .await
        .unwrap_err();
    assert!(matches!(err, IngestError::UnknownCrs { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("Shandan_local") && msg.contains("matches no EPSG") && msg.contains("--srid"),
        "{msg}"
    );
    assert_eq!(versions(&client).await, 0);

    let no_prj_dir = temp_dir("no_prj");
    let path = copy_shapefile("parcels_4543", &no_prj_dir, None);
    let err = ingest(&mut client, &request(path.clone(), "odd"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no .prj"), "{err}");
    let mut req = request(path, "odd");
    req.srid = Some(4543);
    let report = ingest(&mut client, &req).await.unwrap();
    assert_eq!((report.srid, report.srid_source.as_str()), (4543, "--srid"));
}

#[tokio::test]
async fn the_external_shapefiles_ingest_with_their_counts_srids_and_text() {
    let db = TestDb::new().await;
    let mut client = db.client().await;

    let wild = ingest(
        &mut client,
        &request(
            fixture("external/us_wilderness/coutwildrnp.shp"),
            "wilderness",
        ),
    )
    .await
    .unwrap();
    assert_eq!((wild.features_read, wild.features_written), (67, 67));
    assert_eq!(wild.srid, 4326);
    assert_eq!(wild.encoding.as_deref(), Some("windows-1252"));
    assert_eq!(
        wild.encoding_source.as_deref(),
        Some(".cpg file (ISO-8859-1)")
    );
    assert_eq!(wild.geometry_type, "polygon");
    let names = strings(&client, wild.version_id, "NAME").await;
    assert!(names.contains(&"Mount Naomi Wilderness".to_owned()));
    // Every record has one outer ring: stored as Polygon, nothing promoted.
    let types = geometry_types(&client, wild.version_id).await;
    assert_eq!(types, ["POLYGON"]);
    assert!(wild.notes.is_empty(), "{:?}", wild.notes);

    let world = ingest(
        &mut client,
        &request(
            fixture("external/naturalearth_lowres/naturalearth_lowres.shp"),
            "world",
        ),
    )
    .await
    .unwrap();
    assert_eq!(world.features_written, 177);
    assert_eq!(world.srid, 4326);
    let names = strings(&client, world.version_id, "name").await;
    assert!(names.contains(&"Côte d'Ivoire".to_owned()), "{names:?}");
    // Countries with islands are MultiPolygons, the others promoted to match.
    assert_eq!(
        geometry_types(&client, world.version_id).await,
        ["MULTIPOLYGON"]
    );
    assert!(
        world.notes.iter().any(|n| n.contains("promoted to multi")),
        "{:?}",
        world.notes
    );
    let [w, s, e, n] = world.bbox.unwrap();
    assert!(
        w < -179.0 && e > 179.0 && s < -85.0 && n > 83.0,
        "{:?}",
        world.bbox
    );

    let nyc = ingest(
        &mut client,
        &request(
            fixture("external/nyc_boroughs_epsg2263/nybb_16a.zip"),
            "boroughs",
        ),
    )
    .await
    .unwrap();
    assert_eq!(nyc.features_written, 5);
    assert_eq!(nyc.srid, 2263, "{}", nyc.srid_source);
    let boroughs = strings(&client, nyc.version_id, "BoroName").await;
    assert!(
        boroughs.contains(&"Staten Island".to_owned()),
        "{boroughs:?}"
    );
    // Manhattan is about 59 km² of land (the file's Shape_Area is in square feet).
    let manhattan: f64 = client
        .query_one(
            "SELECT area_m2 FROM onemap.features WHERE version_id = $1 AND props->>'BoroName' = 'Manhattan'",
            &[&nyc.version_id],
        )
        .await
        .unwrap()
        .get(0);
    assert!((5.5e7..6.5e7).contains(&manhattan), "{manhattan}");
}

#[tokio::test]
async fn the_corrupt_shapefile_fails_naming_the_file_and_publishes_nothing() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let mut req = request(fixture("external/corrupt/corrupt_too_long.shp"), "corrupt");
    req.srid = Some(4326);
    let err = ingest(&mut client, &req).await.unwrap_err();
    assert!(matches!(err, IngestError::Malformed { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("corrupt_too_long.shp"), "{msg}");
    assert!(
        msg.contains("declares 1144 bytes but the file holds 1145"),
        "{msg}"
    );
    assert_eq!(versions(&client).await, 0);
    let layers: i64 = client
        .query_one("SELECT count(*) FROM onemap.layers", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(layers, 0);
}

#[tokio::test]
async fn invalid_geometries_are_repaired_null_ones_skipped_and_both_reported() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let dir = temp_dir("repair");
    let path = dir.join("repair.geojson");
    std::fs::write(
        &path,
        r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{"n":1},"geometry":{"type":"Polygon","coordinates":[[[101,38],[101.1,38.1],[101.1,38],[101,38.1],[101,38]]]}},
        {"type":"Feature","properties":{"n":2},"geometry":null},
        {"type":"Feature","properties":{"n":3},"geometry":{"type":"Polygon","coordinates":[[[101,38],[101.1,38],[101.1,38.1],[101,38]]]}},
        {"type":"Feature","properties":{"n":4},"geometry":{"type":"MultiPolygon","coordinates":[]}}]}"#,
    )
    .unwrap();
    let report: IngestReport = ingest(&mut client, &request(path, "repaired"))
        .await
        .unwrap();
    assert_eq!(report.features_read, 4);
    assert_eq!(report.features_written, 2);
    assert_eq!(report.features_repaired, 1);
    assert_eq!(report.features_rejected, 2);
    let examples: Vec<(u64, Option<&str>)> = report
        .rejections
        .iter()
        .map(|r| (r.feature, r.field.as_deref()))
        .collect();
    assert_eq!(examples, [(2, Some("geometry")), (4, Some("geometry"))]);
    let valid: bool = client
        .query_one(
            "SELECT bool_and(ST_IsValid(geom)) AND count(DISTINCT GeometryType(geom)) = 1 FROM onemap.features WHERE version_id = $1",
            &[&report.version_id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(valid);
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("1 invalid geometries repaired")),
        "{:?}",
        report.notes
    );
}
