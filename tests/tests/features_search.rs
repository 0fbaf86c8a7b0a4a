//! Attribute search on `GET /api/layers/{id}/features?field=&value=`: exact match on a
//! top-level attribute (a parcel by its number), combined with the other parameters, and the
//! refusals for a malformed field name or a field without its value.

mod helpers;

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use helpers::TestDb;
use http_body_util::BodyExt;
use onemap_ingest::{ingest, IngestRequest};
use onemap_tile_server::{app, AppState, ServerConfig};
use serde_json::{json, Value};
use tower::ServiceExt;

/// Four parcels: numbers stored as JSON numbers and as text, Chinese attribute names.
fn parcels() -> Value {
    let square = |x: f64, y: f64| {
        json!({"type": "Polygon", "coordinates": [[
            [x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y + 0.01], [x, y]
        ]]})
    };
    let feature = |props: Value, x: f64| json!({"type": "Feature", "properties": props, "geometry": square(x, 38.3)});
    json!({"type": "FeatureCollection", "features": [
        feature(json!({"TBBH": 1201, "DLBM": "0101", "权属单位": "东乐乡"}), 101.10),
        feature(json!({"TBBH": "1202", "DLBM": "0101", "权属单位": "东乐乡"}), 101.12),
        feature(json!({"TBBH": 12021, "DLBM": "0301", "权属单位": "陈户镇"}), 101.14),
        feature(json!({"TBBH": 1203, "DLBM": "0602"}), 101.16),
    ]})
}

async fn setup() -> (TestDb, Router, PathBuf) {
    let db = TestDb::new().await;
    // One file per test database, so tests running at once do not share it.
    let dir = std::env::temp_dir().join(format!("onemap-features-search-{}", db.name));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dltb_search.geojson");
    std::fs::write(&path, parcels().to_string()).unwrap();
    let mut client = db.client().await;
    ingest(
        &mut client,
        &IngestRequest {
            path: path.clone(),
            layer: "dltb_search".into(),
            department: "zrzy".into(),
            year: Some(2024),
            ingested_by: "test".into(),
            ..IngestRequest::default()
        },
    )
    .await
    .expect("ingest");
    let config = ServerConfig {
        database_url: db.url.clone(),
        viewer_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../viewer"),
        pool_size: 4,
        tile_cache_mb: 16,
    };
    let router = app(AppState::new(&config).await.unwrap());
    std::fs::remove_file(&path).ok();
    std::fs::remove_dir(&dir).ok();
    (db, router, dir)
}

async fn get_json(app: &Router, uri: &str) -> (StatusCode, Value) {
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
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// The `TBBH` values of the answer, as text, in fid order.
fn numbers(fc: &Value) -> Vec<String> {
    fc["features"]
        .as_array()
        .expect("a FeatureCollection")
        .iter()
        .map(|f| match &f["properties"]["TBBH"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

#[tokio::test]
async fn a_parcel_number_finds_exactly_that_parcel_whether_stored_as_number_or_text() {
    let (_db, app, _dir) = setup().await;
    let base = "/api/layers/dltb_search/features";

    let (status, fc) = get_json(&app, &format!("{base}?field=TBBH&value=1201")).await;
    assert_eq!(status, StatusCode::OK, "{fc}");
    assert_eq!(numbers(&fc), ["1201"]);
    let area = fc["features"][0]["properties"]["area_m2"].as_f64().unwrap();
    assert!(area > 800_000.0 && area < 1_000_000.0, "{area}");

    // Text in the source, same answer; a prefix of 12021 is not a match.
    let (_, fc) = get_json(&app, &format!("{base}?field=TBBH&value=1202")).await;
    assert_eq!(numbers(&fc), ["1202"]);

    let (_, fc) = get_json(&app, &format!("{base}?field=TBBH&value=9999")).await;
    assert_eq!(numbers(&fc), Vec::<String>::new());
}

#[tokio::test]
async fn attribute_search_combines_with_limit_bbox_and_chinese_names() {
    let (_db, app, _dir) = setup().await;
    let base = "/api/layers/dltb_search/features";

    let (_, fc) = get_json(&app, &format!("{base}?field=DLBM&value=0101")).await;
    assert_eq!(numbers(&fc), ["1201", "1202"]);
    let (_, fc) = get_json(&app, &format!("{base}?field=DLBM&value=0101&limit=1")).await;
    assert_eq!(numbers(&fc), ["1201"]);
    let (_, fc) = get_json(
        &app,
        &format!("{base}?field=DLBM&value=0101&bbox=101.115,38.29,101.2,38.32"),
    )
    .await;
    assert_eq!(numbers(&fc), ["1202"]);

    // 权属单位 = 陈户镇, percent-encoded as a browser sends it.
    let (status, fc) = get_json(
        &app,
        &format!(
            "{base}?field=%E6%9D%83%E5%B1%9E%E5%8D%95%E4%BD%8D\
             &value=%E9%99%88%E6%88%B7%E9%95%87"
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{fc}");
    assert_eq!(numbers(&fc), ["12021"]);
}

#[tokio::test]
async fn a_malformed_field_or_a_field_without_its_value_is_a_400() {
    let (_db, app, _dir) = setup().await;
    let base = "/api/layers/dltb_search/features";
    let long = "A".repeat(65);
    for query in [
        "field=TBBH".to_owned(),
        "value=1201".to_owned(),
        "field=&value=1201".to_owned(),
        "field=TB%20BH&value=1201".to_owned(),
        "field=TBBH'%20OR%20'1'='1&value=1201".to_owned(),
        "field=props-%3E%3E'x'&value=1".to_owned(),
        format!("field={long}&value=1"),
    ] {
        let (status, body) = get_json(&app, &format!("{base}?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
    }
    // 64 characters is still a name (that matches nothing).
    let (status, fc) = get_json(&app, &format!("{base}?field={}&value=1", "A".repeat(64))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(numbers(&fc), Vec::<String>::new());
    // A value is data, never SQL.
    let (status, fc) = get_json(&app, &format!("{base}?field=TBBH&value=1'%20OR%20'1'='1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(numbers(&fc), Vec::<String>::new());
}
