//! The HTTP server against a real PostGIS: catalog, TileJSON, tiles decoded with geozero's MVT
//! decoder, features as GeoJSON, the style, and the catalog following new versions.

mod helpers;

use std::path::Path;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use geozero::mvt::{tile, Message, Tile};
use geozero::ToGeo;
use helpers::{fixture, TestDb};
use http_body_util::BodyExt;
use onemap_ingest::{ingest, IngestRequest};
use onemap_tile_server::{app, AppState, ServerConfig};
use serde_json::Value;
use tower::ServiceExt;

/// The three copies of the tile fixture, one per CRS.
const LAYERS: [(&str, &str); 3] = [
    ("parcels_wgs84", "tiles/parcels_4326.geojson"),
    ("parcels_cgcs2000", "tiles/parcels_4490.geojson"),
    ("parcels_gk34", "tiles/parcels_4543.gpkg"),
];
/// Tile column at z12 whose east edge the `edge` parcel straddles (101.162109375°E).
const EDGE_X: u32 = 3198;

async fn load(db: &TestDb, layer: &str, file: &str, year: Option<i32>) {
    let mut client = db.client().await;
    ingest(
        &mut client,
        &IngestRequest {
            path: fixture(file),
            layer: layer.into(),
            department: "zrzy".into(),
            year,
            ingested_by: "test".into(),
            ..IngestRequest::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("ingest of {file} failed: {e}"));
}

async fn server(db: &TestDb) -> Router {
    let config = ServerConfig {
        database_url: db.url.clone(),
        viewer_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../viewer"),
        pool_size: 4,
        tile_cache_mb: 64,
    };
    app(AppState::new(&config).await.unwrap())
}

async fn get(app: &Router, uri: &str) -> (StatusCode, Vec<u8>) {
    let response = app
        .clone()
        .oneshot(
            Request::get(uri)
                .header("host", "onemap.test")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, body)
}

async fn get_json(app: &Router, uri: &str) -> (StatusCode, Value) {
    let (status, body) = get(app, uri).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Decoded features of the tile's layer: (properties by name, geometry in tile units).
fn decode(
    body: &[u8],
    layer: &str,
) -> Vec<(serde_json::Map<String, Value>, geo_types::Geometry<f64>)> {
    if body.is_empty() {
        return Vec::new();
    }
    let tile = Tile::decode(body).expect("a valid MVT");
    let l = tile
        .layers
        .iter()
        .find(|l| l.name == layer)
        .unwrap_or_else(|| panic!("no MVT layer {layer}"));
    assert_eq!(l.extent, Some(4096));
    l.features
        .iter()
        .map(|f| {
            let mut props = serde_json::Map::new();
            for pair in f.tags.chunks(2) {
                let key = l.keys[pair[0] as usize].clone();
                let v: &tile::Value = &l.values[pair[1] as usize];
                let value = if let Some(s) = &v.string_value {
                    Value::from(s.clone())
                } else if let Some(d) = v.double_value {
                    Value::from(d)
                } else if let Some(d) = v.float_value {
                    Value::from(f64::from(d))
                } else if let Some(i) = v.int_value.or(v.sint_value) {
                    Value::from(i)
                } else if let Some(u) = v.uint_value {
                    Value::from(u)
                } else {
                    Value::from(v.bool_value)
                };
                props.insert(key, value);
            }
            (props, f.to_geo().expect("decodable geometry"))
        })
        .collect()
}

fn kind(props: &serde_json::Map<String, Value>) -> &str {
    props["kind"].as_str().unwrap()
}

fn x_range(g: &geo_types::Geometry<f64>) -> (f64, f64) {
    let polygons: Vec<&geo_types::Polygon<f64>> = match g {
        geo_types::Geometry::Polygon(p) => vec![p],
        geo_types::Geometry::MultiPolygon(mp) => mp.0.iter().collect(),
        other => panic!("expected a polygon, got {other:?}"),
    };
    let xs: Vec<f64> = polygons
        .iter()
        .flat_map(|p| p.exterior().0.iter().map(|c| c.x))
        .collect();
    (
        xs.iter().copied().fold(f64::MAX, f64::min),
        xs.iter().copied().fold(f64::MIN, f64::max),
    )
}

#[tokio::test]
async fn tiles_are_right_at_z0_and_across_tile_edges_in_every_crs() {
    let db = TestDb::new().await;
    for (layer, file) in LAYERS {
        load(&db, layer, file, None).await;
    }
    let app = server(&db).await;
    for (layer, _) in LAYERS {
        // z0: the whole world in one tile; the county-sized parcel must be there.
        let (status, body) = get(&app, &format!("/tiles/{layer}/0/0/0")).await;
        assert_eq!(status, StatusCode::OK, "{layer} z0");
        let z0 = decode(&body, layer);
        assert!(
            z0.iter().any(|(p, _)| kind(p) == "big"),
            "{layer}: no big parcel at z0"
        );

        // z12: the edge parcel shows in both tiles, reaching into the buffer but not past it.
        let y = 1571; // row of 38.60–38.61°N at z12
        let (_, left) = get(&app, &format!("/tiles/{layer}/12/{EDGE_X}/{y}")).await;
        let (_, right) = get(&app, &format!("/tiles/{layer}/12/{}/{y}", EDGE_X + 1)).await;
        let left = decode(&left, layer);
        let right = decode(&right, layer);
        let (_, lg) = left
            .iter()
            .find(|(p, _)| kind(p) == "edge")
            .expect("edge in left tile");
        let (_, rg) = right
            .iter()
            .find(|(p, _)| kind(p) == "edge")
            .expect("edge in right tile");
        let (_, lmax) = x_range(lg);
        let (rmin, _) = x_range(rg);
        assert!(
            lmax > 4096.0 && lmax <= 4096.0 + 64.0,
            "{layer}: left max x {lmax}"
        );
        assert!(rmin < 0.0 && rmin >= -64.0, "{layer}: right min x {rmin}");

        // Properties: the source attributes, and the geodesic area for polygons.
        let (props, _) = left.iter().find(|(p, _)| kind(p) == "edge").unwrap();
        assert_eq!(props["DLBM"], "0103");
        assert_eq!(props["name"], "跨图幅图斑");
        let area = props["area_m2"].as_f64().unwrap();
        // 0.02° × 0.01° at 38.6°N: about 1 740 m × 1 112 m.
        assert!(
            (area - 1.932e6).abs() / 1.932e6 < 0.01,
            "{layer}: area {area}"
        );
    }
}

#[tokio::test]
async fn a_tile_outside_the_data_is_empty_and_bad_requests_are_refused() {
    let db = TestDb::new().await;
    load(
        &db,
        "parcels_wgs84",
        "tiles/parcels_4326.geojson",
        Some(2023),
    )
    .await;
    let app = server(&db).await;
    let (status, _) = get(&app, "/tiles/parcels_wgs84/8/10/10").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = get_json(&app, "/tiles/nowhere/0/0/0").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].as_str().unwrap().contains("nowhere"));
    assert_eq!(
        get(&app, "/tiles/parcels_wgs84/0/0/0?year=1999").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/tiles/parcels_wgs84/0/0/0?year=abc").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&app, "/tiles/parcels_wgs84/1/5/0").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&app, "/tiles/parcels_wgs84/0/0/0?year=2023").await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn tilejson_and_catalog_describe_each_layer_and_version() {
    let db = TestDb::new().await;
    load(&db, "parcels_gk34", "tiles/parcels_4543.gpkg", Some(2024)).await;
    let app = server(&db).await;
    let (status, tj) = get_json(&app, "/tiles/parcels_gk34").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tj["tilejson"], "3.0.0");
    assert_eq!(
        tj["tiles"][0],
        "http://onemap.test/tiles/parcels_gk34/{z}/{x}/{y}"
    );
    assert_eq!(tj["vector_layers"][0]["id"], "parcels_gk34");
    let b: Vec<f64> = serde_json::from_value(tj["bounds"].clone()).unwrap();
    assert!(
        (b[0] - 100.8).abs() < 1e-6 && (b[3] - 38.9).abs() < 1e-6,
        "bounds {b:?}"
    );

    let (_, layers) = get_json(&app, "/api/layers").await;
    let l = &layers[0];
    assert_eq!(l["id"], "parcels_gk34");
    assert_eq!(l["department"], "zrzy");
    assert_eq!(l["geometry_type"], "polygon");
    assert_eq!(l["tiles"], "/tiles/parcels_gk34");
    assert_eq!(l["versions"][0]["year"], 2024);
    assert_eq!(l["versions"][0]["feature_count"], 3);
    assert_eq!(l["versions"][0]["srid"], 4543);
}

#[tokio::test]
async fn features_come_back_as_geojson_in_wgs84_with_their_area() {
    let db = TestDb::new().await;
    load(&db, "parcels_gk34", "tiles/parcels_4543.gpkg", None).await;
    let app = server(&db).await;
    let (status, fc) = get_json(
        &app,
        "/api/layers/parcels_gk34/features?bbox=101.29,38.29,101.31,38.31",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let features = fc["features"].as_array().unwrap();
    let small = features
        .iter()
        .find(|f| f["properties"]["kind"] == "small")
        .expect("small parcel");
    // Stored in Gauss-Krüger, served back in degrees where the fixture drew it.
    let first = &small["geometry"]["coordinates"][0][0];
    let (x, y) = (first[0].as_f64().unwrap(), first[1].as_f64().unwrap());
    assert!(
        (x - 101.30).abs() < 1e-6 && (y - 38.30).abs() < 1e-6,
        "{x},{y}"
    );
    assert!(small["properties"]["area_m2"].as_f64().unwrap() > 100_000.0);
    // The county-sized parcel intersects the bbox too, the edge parcel does not.
    assert!(features.iter().all(|f| f["properties"]["kind"] != "edge"));

    let (_, page) = get_json(&app, "/api/layers/parcels_gk34/features?limit=1&offset=1").await;
    assert_eq!(page["features"].as_array().unwrap().len(), 1);
    assert_eq!(
        get(&app, "/api/layers/parcels_gk34/features?bbox=1,2,3")
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&app, "/api/layers/parcels_gk34/features?limit=-1")
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&app, "/api/layers/missing/features").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_style_has_every_layer_and_land_use_coloured_by_class() {
    let db = TestDb::new().await;
    load(&db, "parcels_wgs84", "tiles/parcels_4326.geojson", None).await;
    let app = server(&db).await;
    let (status, style) = get_json(&app, "/style.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(style["version"], 8);
    assert_eq!(
        style["sources"]["parcels_wgs84"]["url"],
        "http://onemap.test/tiles/parcels_wgs84"
    );
    let fill = style["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == "parcels_wgs84-fill")
        .expect("fill layer");
    assert_eq!(fill["metadata"]["onemap:layer"], "parcels_wgs84");
    let expr = fill["paint"]["fill-color"].to_string();
    assert!(expr.contains("\"0401\"") && expr.contains("DLBM"), "{expr}");
}

#[tokio::test]
async fn a_newly_published_version_is_served_without_a_restart() {
    let db = TestDb::new().await;
    load(
        &db,
        "parcels_wgs84",
        "tiles/parcels_4326.geojson",
        Some(2023),
    )
    .await;
    let app = server(&db).await;
    assert_eq!(
        get(&app, "/tiles/parcels_wgs84/0/0/0?year=2024").await.0,
        StatusCode::NOT_FOUND
    );
    load(
        &db,
        "parcels_wgs84",
        "tiles/parcels_4490.geojson",
        Some(2024),
    )
    .await;
    // The catalog follows the database's notification; give it a moment.
    let mut status = StatusCode::NOT_FOUND;
    for _ in 0..50 {
        status = get(&app, "/tiles/parcels_wgs84/0/0/0?year=2024").await.0;
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::OK);
    let (_, layers) = get_json(&app, "/api/layers").await;
    assert_eq!(layers[0]["versions"][0]["year"], 2024);
    assert_eq!(layers[0]["versions"][1]["year"], 2023);
}

#[tokio::test]
async fn health_answers_when_the_database_does() {
    let db = TestDb::new().await;
    let app = server(&db).await;
    let (status, body) = get_json(&app, "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}
