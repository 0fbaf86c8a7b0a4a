//! Land-use tiles just past the generalised zooms (issue 8, item 1): at z12 a dense tile of a
//! 1 000 000-parcel survey year holds about 10 000 parcels, so there the parcels carry only
//! their id, class and rounded area; from z13 on every attribute. Against a real PostGIS.

mod helpers;

use std::collections::HashMap;
use std::path::Path;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use geozero::mvt::{Message, Tile};
use helpers::TestDb;
use http_body_util::BodyExt;
use onemap_ingest::{ingest, IngestRequest};
use onemap_tile_server::{app, AppState, ServerConfig};
use serde_json::json;
use tower::ServiceExt;

/// A 60 × 60 grid of parcels of about 30 m × 30 m (3 600, enough to be generalised at low
/// zooms) around (101.1°, 38.6°), in EPSG:4490 as a survey delivers them.
fn write_parcels(path: &Path) {
    let (w, s, step) = (101.1, 38.6, 0.000_3);
    let mut features = Vec::new();
    for i in 0..60 {
        for j in 0..60 {
            let (x0, y0) = (w + f64::from(i) * step, s + f64::from(j) * step);
            let ring = [
                [x0, y0],
                [x0 + step, y0],
                [x0 + step, y0 + step],
                [x0, y0 + step],
                [x0, y0],
            ];
            features.push(json!({
                "type": "Feature",
                "properties": {
                    "DLBM": if (i + j) % 3 == 0 { "0103" } else { "0301" },
                    "BSM": format!("{i}-{j}"),
                    "TBBH": format!("{}", i * 60 + j),
                    "QSDWDM": "6207251010010000000",
                },
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }));
        }
    }
    let collection = json!({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}},
        "features": features,
    });
    std::fs::write(path, collection.to_string()).unwrap();
}

fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = (lon + 180.0) / 360.0 * n;
    let lat = lat.to_radians();
    let y = (1.0 - lat.tan().asinh() / std::f64::consts::PI) / 2.0 * n;
    (x as u32, y as u32)
}

/// The property names and values of every feature of the tile's one layer.
fn features(body: &[u8]) -> Vec<HashMap<String, String>> {
    let tile = Tile::decode(body).expect("a valid MVT");
    assert_eq!(tile.layers.len(), 1);
    let l = &tile.layers[0];
    assert_eq!(l.name, "dltb");
    l.features
        .iter()
        .map(|f| {
            assert!(f.id.is_some(), "a parcel without its id");
            f.tags
                .chunks(2)
                .map(|pair| {
                    let v = &l.values[pair[1] as usize];
                    let value = v
                        .string_value
                        .clone()
                        .or_else(|| v.double_value.map(|d| format!("{d}")))
                        .or_else(|| v.int_value.map(|i| format!("{i}")))
                        .or_else(|| v.uint_value.map(|i| format!("{i}")))
                        .or_else(|| v.sint_value.map(|i| format!("{i}")))
                        .unwrap_or_default();
                    (l.keys[pair[0] as usize].clone(), value)
                })
                .collect()
        })
        .collect()
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
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body.to_vec())
}

#[tokio::test]
async fn land_use_parcels_at_z12_carry_only_id_class_and_whole_square_metres_and_from_z13_every_attribute(
) {
    let db = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("onemap-z12-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("parcels.geojson");
    write_parcels(&file);
    let mut client = db.client().await;
    ingest(
        &mut client,
        &IngestRequest {
            path: file.clone(),
            layer: "dltb".into(),
            department: "zrzy".into(),
            year: Some(2024),
            ingested_by: "test".into(),
            ..IngestRequest::default()
        },
    )
    .await
    .expect("the parcels load");
    std::fs::remove_dir_all(&dir).ok();
    let config = ServerConfig {
        database_url: db.url.clone(),
        viewer_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../viewer"),
        pool_size: 4,
        tile_cache_mb: 0,
    };
    let app = app(AppState::new(&config).await.unwrap());
    let truth: HashMap<String, f64> = client
        .query("SELECT fid::text, area_m2 FROM onemap.features", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();

    let (x, y) = tile_of(101.109, 38.609, 12);
    let (status, body) = get(&app, &format!("/tiles/dltb/12/{x}/{y}")).await;
    assert_eq!(status, StatusCode::OK);
    let z12 = features(&body);
    assert!(z12.len() > 1000, "{} parcels at z12", z12.len());
    for props in &z12 {
        let mut keys: Vec<&str> = props.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["DLBM", "area_m2"], "z12 properties {props:?}");
        assert!(["0103", "0301"].contains(&props["DLBM"].as_str()));
        let area: f64 = props["area_m2"].parse().unwrap();
        assert_eq!(area.fract(), 0.0, "area {area} not whole square metres");
        // A 0.0003° square at 38.6° N is about 33 m × 26 m.
        assert!((700.0..1000.0).contains(&area), "area {area}");
    }
    // The rounded area is each parcel's own geodesic area.
    let tile = Tile::decode(&body[..]).unwrap();
    for (f, props) in tile.layers[0].features.iter().zip(&z12) {
        let true_m2 = truth[&f.id.unwrap().to_string()];
        let shown: f64 = props["area_m2"].parse().unwrap();
        assert!((shown - true_m2).abs() <= 0.5, "{shown} for {true_m2}");
    }

    let (x, y) = tile_of(101.109, 38.609, 13);
    let (status, body) = get(&app, &format!("/tiles/dltb/13/{x}/{y}")).await;
    assert_eq!(status, StatusCode::OK);
    let z13 = features(&body);
    assert!(!z13.is_empty());
    for props in &z13 {
        for key in ["DLBM", "BSM", "TBBH", "QSDWDM", "area_m2"] {
            assert!(props.contains_key(key), "z13 lacks {key}: {props:?}");
        }
    }
}
