//! The stored Web-Mercator copy and geodesic area of every feature (`geom_3857`, `area_m2`):
//! computed in the client for geographic files (EPSG:4326, 4490), the CGCS2000 Gauss-Krüger
//! zones (3-degree EPSG:4513–4554, see tests/tests/ingest_formats3.rs; 6-degree EPSG:4491–4512)
//! and WGS 84 / UTM (EPSG:32601–32660, 32701–32760), by the partition's trigger
//! for the others, they must be what PostGIS's own expressions give, on the real fixtures.

mod helpers;

use std::path::PathBuf;

use helpers::zones::{assert_zones_derived_as_postgis, forbid_server_derivation, Zone};
use helpers::{fixture, TestDb};
use onemap_ingest::{ingest, IngestReport, IngestRequest};
use tokio_postgres::Client;

fn request(path: PathBuf, layer: &str, srid: Option<i32>) -> IngestRequest {
    IngestRequest {
        path,
        layer: layer.into(),
        department: "zrzy".into(),
        ingested_by: "tests".into(),
        srid,
        ..IngestRequest::default()
    }
}

/// How one version's stored derivatives compare with PostGIS computing them now.
#[derive(Debug)]
struct Agreement {
    rows: i64,
    /// Rows whose geom_3857 or (for polygons) area_m2 is missing.
    missing: i64,
    /// Largest |stored − PostGIS| / PostGIS area, over polygons.
    area_rel: f64,
    /// Largest Hausdorff distance (m) between the stored and PostGIS's Web-Mercator copy.
    mercator_m: f64,
    /// Rows whose Web-Mercator copy has another type or number of points than PostGIS's.
    shape_differs: i64,
    /// Sum of the stored areas.
    area_sum: f64,
}

async fn agreement(client: &Client, version_id: i64) -> Agreement {
    let row = client
        .query_one(include_str!("sql/derived_agreement.sql"), &[&version_id])
        .await
        .unwrap();
    Agreement {
        rows: row.get("rows"),
        missing: row.get("missing"),
        area_rel: row.get::<_, Option<f64>>("area_rel").unwrap_or(0.0),
        mercator_m: row.get::<_, Option<f64>>("mercator_m").unwrap_or(0.0),
        shape_differs: row.get("shape_differs"),
        area_sum: row.get::<_, Option<f64>>("area_sum").unwrap_or(0.0),
    }
}

async fn loaded(client: &mut Client, req: &IngestRequest) -> (IngestReport, Agreement) {
    let report = ingest(client, req).await.unwrap();
    let agreement = agreement(client, report.version_id).await;
    (report, agreement)
}

fn assert_agrees(what: &str, a: &Agreement, rows: i64) {
    assert_eq!(a.rows, rows, "{what}: {a:?}");
    assert_eq!(a.missing, 0, "{what}: {a:?}");
    assert!(a.area_rel <= 1e-6, "{what}: areas differ: {a:?}");
    assert!(
        a.mercator_m <= 1e-6,
        "{what}: Web-Mercator copies differ: {a:?}"
    );
    assert_eq!(a.shape_differs, 0, "{what}: {a:?}");
}

#[tokio::test]
async fn client_computed_areas_and_mercator_copies_agree_with_postgis_on_the_shandan_parcels() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let mut sums = Vec::new();
    for (layer, file, srid) in [
        ("p4326", "ingest/shandan_parcels_4326.geojson", 4326),
        ("p4490", "ingest/shandan_parcels_4490.geojson", 4490),
        ("p4490_shp", "ingest/shp/parcels_4490.shp", 4490),
        ("p4490_fgb", "ingest/fgb/parcels_4490.fgb", 4490),
        ("p4522", "ingest/shandan_parcels_4522.gpkg", 4522),
        ("p4543", "ingest/shandan_parcels_4543.gpkg", 4543),
        ("p4543_shp", "ingest/shp/parcels_4543.shp", 4543),
    ] {
        let (report, a) = loaded(&mut client, &request(fixture(file), layer, None)).await;
        assert_eq!(report.srid, srid, "{file}");
        assert_agrees(file, &a, 6);
        sums.push((file, a.area_sum));
    }
    // The same parcels in every CRS: the same true area, within 0.1%.
    let first = sums[0].1;
    assert!(first > 1e5, "{sums:?}");
    for (file, sum) in &sums {
        assert!(((sum - first) / first).abs() < 1e-3, "{file}: {sums:?}");
    }
    // CGCS2000 and WGS 84 coordinates are the same numbers here, and so are the areas.
    assert!(((sums[1].1 - first) / first).abs() < 1e-9, "{sums:?}");
}

#[tokio::test]
async fn geographic_files_are_derived_without_asking_the_server() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    // In this database the partition's trigger refuses to work: every row must arrive with
    // its derivatives.
    forbid_server_derivation(&client).await;
    for (layer, file) in [
        ("p4326", "ingest/shandan_parcels_4326.geojson"),
        ("p4490", "ingest/shandan_parcels_4490.geojson"),
        ("wilderness", "ingest/us_wilderness.geojson"),
        ("p4522", "ingest/shandan_parcels_4522.gpkg"),
        ("p4543", "ingest/shandan_parcels_4543.gpkg"),
    ] {
        let (_, a) = loaded(&mut client, &request(fixture(file), layer, None)).await;
        assert_eq!(a.missing, 0, "{file}");
    }
    // Other projected CRSs (here EPSG:2263) are the server's.
    let err = ingest(
        &mut client,
        &request(
            fixture("external/nyc_boroughs_epsg2263/nybb_16a.zip"),
            "boroughs",
            None,
        ),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("the server was asked"), "{err}");
}

#[tokio::test]
async fn client_computed_derivatives_agree_with_postgis_on_real_world_polygons() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    // 67 wilderness areas (Polygon and MultiPolygon, up to thousands of vertices).
    let (_, a) = loaded(
        &mut client,
        &request(fixture("ingest/us_wilderness.geojson"), "wilderness", None),
    )
    .await;
    assert_agrees("us_wilderness.geojson", &a, 67);

    // 177 countries, among them Antarctica beyond Web Mercator's latitudes and Fiji and
    // Russia at the antimeridian: the client leaves those to the server, which clips them.
    let (report, a) = loaded(
        &mut client,
        &request(
            fixture("external/naturalearth_lowres/naturalearth_lowres.shp"),
            "countries",
            None,
        ),
    )
    .await;
    assert_eq!(report.srid, 4326);
    assert_agrees("naturalearth_lowres.shp", &a, 177);
    let antarctica: f64 = client
        .query_one(
            "SELECT area_m2 FROM onemap.features WHERE version_id = $1 AND props->>'name' = 'Antarctica'",
            &[&report.version_id],
        )
        .await
        .unwrap()
        .get(0);
    // About 12.3 million km² as Natural Earth draws it (the true figure is 14.2).
    assert!((1.0e13..1.5e13).contains(&antarctica), "{antarctica}");
}

#[tokio::test]
async fn projected_files_get_their_derivatives_from_the_server_and_none_are_missing() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let (report, a) = loaded(
        &mut client,
        &request(
            fixture("external/nyc_boroughs_epsg2263/nybb_16a.zip"),
            "boroughs",
            None,
        ),
    )
    .await;
    assert_eq!(report.srid, 2263);
    assert_agrees("nybb_16a.zip", &a, 5);
    // The published partition carries no loading trigger.
    let triggers: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
             WHERE c.relname LIKE 'features\\_v%' AND NOT t.tgisinternal",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(triggers, 0);
}

#[tokio::test]
async fn repaired_and_promoted_geometries_get_fresh_derivatives() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    // A bow-tie (self-intersecting) polygon next to a multipolygon: the repair splits the
    // bow-tie and every single polygon is promoted to multi.
    let dir = std::env::temp_dir().join(format!("onemap-derived-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bowtie.geojson");
    std::fs::write(
        &path,
        r#"{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"n":1},"geometry":{"type":"Polygon","coordinates":[[[101.0,38.7],[101.01,38.71],[101.01,38.7],[101.0,38.71],[101.0,38.7]]]}},
{"type":"Feature","properties":{"n":2},"geometry":{"type":"MultiPolygon","coordinates":[[[[101.1,38.7],[101.11,38.7],[101.11,38.71],[101.1,38.71],[101.1,38.7]]]]}},
{"type":"Feature","properties":{"n":3},"geometry":{"type":"Polygon","coordinates":[[[101.2,38.7],[101.21,38.7],[101.21,38.71],[101.2,38.71],[101.2,38.7]]]}}
]}"#,
    )
    .unwrap();
    let (report, a) = loaded(&mut client, &request(path, "bowtie", None)).await;
    assert_eq!(report.features_repaired, 1);
    assert_agrees("bowtie.geojson", &a, 3);
    let kinds: Vec<String> = client
        .query(
            "SELECT DISTINCT GeometryType(geom_3857) FROM onemap.features WHERE version_id = $1",
            &[&report.version_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(kinds, ["MULTIPOLYGON"]);
    // The bow-tie's two triangles: half the area of the square around them, not the zero a
    // signed sum over the crossing ring would give.
    let (bowtie, square): (f64, f64) = {
        let r = client
            .query_one(
                "SELECT max(area_m2) FILTER (WHERE props->>'n' = '1'),
                        max(area_m2) FILTER (WHERE props->>'n' = '3')
                 FROM onemap.features WHERE version_id = $1",
                &[&report.version_id],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert!(((bowtie / square) - 0.5).abs() < 1e-3, "{bowtie} {square}");
}

#[tokio::test]
async fn utm_and_six_degree_gauss_kruger_zones_are_derived_in_the_client_as_postgis_derives_them() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    forbid_server_derivation(&client).await;
    // Out to 2.9° west and 2.8° east of the central meridian (a 6° zone's edges; the widest
    // parcel reaches 0.12° further east, still short of the antimeridian in zone 60), from
    // near the equator to 80°.
    let offsets = &[-2.9, -1.6, 0.0, 0.45, 1.2, 2.8];
    let north = &[0.3, 18.2, 38.8, 62.0, 79.5];
    let south = &[-79.5, -62.0, -38.8, -18.2, -0.3];
    let mut zones = Vec::new();
    for zone in 1..=60 {
        let cm = f64::from(6 * zone - 183);
        for (srid, lats) in [(32600 + zone, north), (32700 + zone, south)] {
            zones.push(Zone {
                srid,
                geographic: 4326,
                cm,
                offsets,
                lats,
            });
        }
    }
    // CGCS2000 6° zones 13–23, with the zone number in the easting (4491–4501) and without
    // (4502–4512), over China's latitudes.
    for zone in 13..=23 {
        let cm = f64::from(6 * zone - 3);
        for srid in [4478 + zone, 4489 + zone] {
            zones.push(Zone {
                srid,
                geographic: 4490,
                cm,
                offsets,
                lats: &[18.2, 31.0, 38.8, 45.5, 53.4],
            });
        }
    }
    assert_eq!(zones.len(), 142);
    let (worst_area, worst_mercator) = assert_zones_derived_as_postgis(&mut client, &zones).await;
    eprintln!(
        "worst relative area difference {worst_area:e}, worst Web-Mercator distance {worst_mercator:e} m"
    );
}
