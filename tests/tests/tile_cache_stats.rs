//! The tile cache's counters on `GET /health` (issue 8): memory entries, bytes, bound, hits
//! and misses; disk hits, misses, writes and evictions. They are totals, open to anyone, and
//! name no layer: a refused request for a restricted layer leaves them unchanged.

mod helpers;

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use helpers::{fixture, TestDb};
use http_body_util::BodyExt;
use onemap_access::{layers, Acting};
use onemap_ingest::{ingest, IngestRequest};
use onemap_tile_server::{app, AppState, ServerConfig, TileCacheConfig};
use serde_json::Value;
use tower::ServiceExt;

/// A z9 tile holding parcels of `tiles/parcels_4326.geojson`.
const TILE: &str = "9/399/196";

async fn load(db: &TestDb, layer: &str) {
    let mut client = db.client().await;
    ingest(
        &mut client,
        &IngestRequest {
            path: fixture("tiles/parcels_4326.geojson"),
            layer: layer.into(),
            department: "zrzy".into(),
            ingested_by: "test".into(),
            ..IngestRequest::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("ingest of {layer} failed: {e}"));
}

fn cache_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "onemap-tile-stats-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
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

async fn health(app: &Router) -> Value {
    let (status, body) = get(app, "/health").await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn health_counts_the_tile_caches_hits_misses_entries_and_disk_writes_and_names_no_layer() {
    let db = TestDb::new().await;
    load(&db, "open_parcels").await;
    load(&db, "hidden_parcels").await;
    let mut client = db.client().await;
    layers::set_access(
        &mut client,
        &Acting::operator("test"),
        "hidden_parcels",
        "restricted",
        None,
    )
    .await
    .unwrap();
    let dir = cache_dir();
    let config = ServerConfig {
        database_url: db.url.clone(),
        viewer_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../viewer"),
        pool_size: 4,
        tile_cache_mb: 8,
    };
    let cache = TileCacheConfig {
        memory_mb: 8,
        disk_dir: Some(dir.clone()),
        disk_max_bytes: 1 << 30,
    };
    let router = app(AppState::with_tile_cache(&config, cache).await.unwrap());

    let before = health(&router).await;
    assert_eq!(before["status"], "ok");
    let memory = &before["tile_cache"]["memory"];
    assert_eq!(memory["max_bytes"], 8 * 1024 * 1024);
    for counter in ["entries", "bytes", "hits", "misses"] {
        assert_eq!(memory[counter], 0, "{counter} before any tile: {before}");
    }
    for counter in ["hits", "misses", "writes", "evicted"] {
        assert_eq!(
            before["tile_cache"]["disk"][counter], 0,
            "{counter}: {before}"
        );
    }

    // An anonymous caller is refused the restricted layer before the cache is asked.
    assert_eq!(
        get(&router, &format!("/tiles/hidden_parcels/{TILE}"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(health(&router).await, before);

    // First request: a miss in memory and on disk, written to disk; second: a memory hit.
    let (status, first) = get(&router, &format!("/tiles/open_parcels/{TILE}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!first.is_empty());
    let (_, second) = get(&router, &format!("/tiles/open_parcels/{TILE}")).await;
    assert_eq!(first, second);
    let after = health(&router).await;
    let memory = &after["tile_cache"]["memory"];
    assert_eq!(
        (&memory["hits"], &memory["misses"]),
        (&1.into(), &1.into()),
        "{after}"
    );
    assert_eq!(memory["entries"], 1, "{after}");
    let bytes = memory["bytes"].as_u64().unwrap();
    // At least the compressed tile, its tag and the entry's bookkeeping; far below the bound.
    assert!(bytes > 256 && bytes < 1024 * 1024, "{after}");
    let disk = &after["tile_cache"]["disk"];
    assert_eq!(
        (&disk["hits"], &disk["misses"], &disk["writes"]),
        (&0.into(), &1.into(), &1.into()),
        "{after}"
    );
    // Totals only: no layer is named (restricted or not), no tile coordinates.
    let text = after.to_string();
    for secret in ["hidden_parcels", "open_parcels", "399", "196"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
