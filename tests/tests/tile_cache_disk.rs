//! The tile cache's on-disk tier (issue 8, item 2), against a real PostGIS: tiles survive a
//! restart and are served without the database, damaged files are found and rebuilt, new
//! versions are served at once and the old versions' files go, the size bound holds (least
//! recently used first), and authorization still comes before the cache.

mod helpers;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use helpers::{fixture, TestDb};
use http_body_util::BodyExt;
use onemap_access::{layers, tokens, users, Acting, Role};
use onemap_ingest::{ingest, IngestRequest};
use onemap_tile_server::{app, AppState, DiskTierStats, ServerConfig, TileCacheConfig};
use serde_json::Value;
use tower::ServiceExt;

/// A z9 tile holding every parcel of `ingest/shandan_parcels_4326.geojson` and some of
/// `tiles/parcels_4326.geojson`.
const TILE: &str = "9/399/196";

async fn load(db: &TestDb, layer: &str, file: &str, year: Option<i32>) -> i64 {
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
    .unwrap_or_else(|e| panic!("ingest of {file} failed: {e}"))
    .version_id
}

/// A fresh folder for one test's disk tier.
fn cache_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "onemap-tile-disk-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A server (a new process, as far as the cache knows) with `memory_mb` MiB in memory and the
/// disk tier in `dir`, bounded to `disk_bytes`.
async fn server(db: &TestDb, memory_mb: u64, dir: Option<&Path>, disk_bytes: u64) -> AppState {
    let config = ServerConfig {
        database_url: db.url.clone(),
        viewer_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../viewer"),
        pool_size: 4,
        tile_cache_mb: memory_mb,
    };
    let cache = TileCacheConfig {
        memory_mb,
        disk_dir: dir.map(Path::to_path_buf),
        disk_max_bytes: disk_bytes,
    };
    AppState::with_tile_cache(&config, cache).await.unwrap()
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn etag(&self) -> &str {
        self.headers
            .get("etag")
            .map_or("", |v| v.to_str().unwrap_or(""))
    }
}

async fn get(app: &Router, uri: &str, token: Option<&str>) -> Answer {
    let mut request = Request::get(uri).header("host", "onemap.test");
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

/// Every tile file under `dir`, by path.
fn tile_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "tile") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The space a file takes, as the bound counts it: whole 4 KiB blocks.
fn blocks(len: u64) -> u64 {
    len.div_ceil(4096) * 4096
}

fn stats(state: &AppState) -> DiskTierStats {
    state.disk_cache_stats().expect("a disk tier")
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(15), "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the server's catalog shows `version` as the newest of layer `id`.
async fn wait_for_version(app: &Router, id: &str, version: i64) {
    let started = Instant::now();
    loop {
        let a = get(app, &format!("/api/layers/{id}"), None).await;
        let v: Value = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
        if v["versions"][0]["id"].as_i64() == Some(version) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the catalog never showed version {version} of {id}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_restarted_server_serves_tiles_from_disk_without_asking_the_database() {
    let db = TestDb::new().await;
    let version = load(&db, "parcels", "tiles/parcels_4326.geojson", None).await;
    let dir = cache_dir("restart");
    let uri = format!("/tiles/parcels/{TILE}");

    let first = server(&db, 64, Some(&dir), 1 << 30).await;
    let a = get(&app(first.clone()), &uri, None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(!a.body.is_empty());
    assert_eq!(stats(&first).writes, 1);
    assert_eq!(tile_files(&dir).len(), 1);
    assert!(tile_files(&dir)[0].starts_with(dir.join(format!("v{version}"))));

    // The version's rows are gone from the database: only a cache can still draw the tile.
    db.client()
        .await
        .execute(
            "DELETE FROM onemap.features WHERE version_id = $1",
            &[&version],
        )
        .await
        .unwrap();
    let uncached = server(&db, 64, None, 0).await;
    let empty = get(&app(uncached), &uri, None).await;
    assert_eq!(
        empty.status,
        StatusCode::NO_CONTENT,
        "the database has no rows left"
    );

    // Restarted, with an empty memory tier, or with none at all: served from disk, same bytes
    // and the same ETag.
    for memory_mb in [64, 0] {
        let restarted = server(&db, memory_mb, Some(&dir), 1 << 30).await;
        let router = app(restarted.clone());
        for _ in 0..3 {
            let b = get(&router, &uri, None).await;
            assert_eq!(b.status, StatusCode::OK, "memory {memory_mb} MiB");
            assert_eq!(b.body, a.body);
            assert_eq!(b.etag(), a.etag());
        }
        let s = stats(&restarted);
        assert_eq!(s.writes, 0);
        assert_eq!(s.hits, if memory_mb == 0 { 3 } else { 1 }, "{s:?}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_cache_folder_written_for_another_database_is_not_served_from() {
    let uri = format!("/tiles/parcels/{TILE}");
    let dir = cache_dir("other-db");
    let first_db = TestDb::new().await;
    let first_version = load(&first_db, "parcels", "tiles/parcels_4326.geojson", None).await;
    let first = server(&first_db, 64, Some(&dir), 1 << 30).await;
    let old = get(&app(first), &uri, None).await;
    assert_eq!(old.status, StatusCode::OK);

    // A new database (a new cluster, a restored dump…) numbers its versions from the start
    // again: the same version number, other parcels.
    let db = TestDb::new().await;
    let version = load(&db, "parcels", "ingest/shandan_parcels_4326.geojson", None).await;
    assert_eq!(version, first_version, "the case this test is about");
    let truth = get(&app(server(&db, 0, None, 0).await), &uri, None).await;
    assert_ne!(truth.body, old.body);
    let state = server(&db, 0, Some(&dir), 1 << 30).await;
    let router = app(state.clone());
    for _ in 0..2 {
        let again = get(&router, &uri, None).await;
        assert_eq!(again.body, truth.body);
    }
    let s = stats(&state);
    assert_eq!((s.purged_versions, s.writes, s.hits), (1, 1, 1), "{s:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_truncated_or_altered_tile_file_is_detected_and_the_tile_built_again() {
    let db = TestDb::new().await;
    load(&db, "parcels", "tiles/parcels_4326.geojson", None).await;
    let dir = cache_dir("damage");
    let uri = format!("/tiles/parcels/{TILE}");
    let first = server(&db, 0, Some(&dir), 1 << 30).await;
    let good = get(&app(first), &uri, None).await;
    assert_eq!(good.status, StatusCode::OK);
    let file = tile_files(&dir).pop().expect("the tile's file");
    let intact = std::fs::read(&file).unwrap();

    type Damage = Box<dyn Fn(&mut Vec<u8>)>;
    let damages: [(&str, Damage); 4] = [
        ("truncated to half", Box::new(|b| b.truncate(b.len() / 2))),
        (
            "truncated by one byte",
            Box::new(|b| b.truncate(b.len() - 1)),
        ),
        (
            "one byte of the tile altered",
            Box::new(|b| *b.last_mut().unwrap() ^= 1),
        ),
        ("empty", Box::new(Vec::clear)),
    ];
    for (what, damage) in damages {
        let mut bytes = intact.clone();
        damage(&mut bytes);
        std::fs::write(&file, &bytes).unwrap();
        let restarted = server(&db, 0, Some(&dir), 1 << 30).await;
        let again = get(&app(restarted.clone()), &uri, None).await;
        assert_eq!(again.status, StatusCode::OK, "{what}");
        assert_eq!(again.body, good.body, "{what}");
        assert_eq!(again.etag(), good.etag(), "{what}");
        let s = stats(&restarted);
        assert_eq!((s.corrupt, s.hits, s.writes), (1, 0, 1), "{what}: {s:?}");
        // Written again, whole.
        assert_eq!(std::fs::read(&file).unwrap(), intact, "{what}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_version_published_while_clients_request_tiles_is_served_on_the_next_request_with_the_disk_tier(
) {
    let db = TestDb::new().await;
    let mut newest = load(&db, "parcels", "tiles/parcels_4326.geojson", None).await;
    let uri = format!("/tiles/parcels/{TILE}");
    // Memory and disk, then disk alone (every request reads the file).
    for (round, memory_mb) in [64u64, 0].into_iter().enumerate() {
        let dir = cache_dir("publish");
        let state = server(&db, memory_mb, Some(&dir), 1 << 30).await;
        let router = app(state.clone());
        let first = get(&router, &uri, None).await;
        assert_eq!(first.status, StatusCode::OK);
        assert!(first.etag().contains(&format!("v{newest}-")));
        let old = newest;

        let stop = Arc::new(AtomicBool::new(false));
        let mut clients = Vec::new();
        for _ in 0..4 {
            let (router, stop, uri) = (router.clone(), stop.clone(), uri.clone());
            clients.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    assert_eq!(get(&router, &uri, None).await.status, StatusCode::OK);
                    n += 1;
                    tokio::task::yield_now().await;
                }
                n
            }));
        }
        let file = if round == 0 {
            "ingest/shandan_parcels_4326.geojson"
        } else {
            "tiles/parcels_4326.geojson"
        };
        newest = load(&db, "parcels", file, None).await;
        wait_for_version(&router, "parcels", newest).await;
        let next = get(&router, &uri, None).await;
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            assert!(c.await.unwrap() > 0);
        }
        assert!(
            next.etag().contains(&format!("v{newest}-")),
            "memory {memory_mb} MiB: {}",
            next.etag()
        );
        assert_ne!(next.body, first.body);
        // The superseded version's files go; the new one's stay.
        let old_dir = dir.join(format!("v{old}"));
        wait_until("the superseded version's files are removed", || {
            !old_dir.exists()
        })
        .await;
        // Nothing of the old version comes back, even from requests that resolved it just
        // before the switch and finished after the purge.
        let newest_dir = dir.join(format!("v{newest}"));
        assert!(tile_files(&dir).iter().all(|f| f.starts_with(&newest_dir)));
        assert!(dir.join(format!("v{newest}")).exists());
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[tokio::test]
async fn tiles_of_superseded_years_and_dropped_layers_leave_the_disk_and_other_years_stay() {
    let db = TestDb::new().await;
    let y2023 = load(&db, "dltb", "tiles/parcels_4326.geojson", Some(2023)).await;
    let y2024 = load(&db, "dltb", "tiles/parcels_4326.geojson", Some(2024)).await;
    let roads = load(&db, "roads", "tiles/parcels_4326.geojson", None).await;
    let dir = cache_dir("purge");
    // Left by a layer dropped while no server ran.
    let stray = dir.join("v999999/9/399");
    std::fs::create_dir_all(&stray).unwrap();
    std::fs::write(stray.join("196.tile"), b"old").unwrap();

    let state = server(&db, 64, Some(&dir), 1 << 30).await;
    assert!(!dir.join("v999999").exists(), "purged at start");
    let router = app(state.clone());
    for uri in [
        format!("/tiles/dltb/{TILE}?year=2023"),
        format!("/tiles/dltb/{TILE}"),
        format!("/tiles/roads/{TILE}"),
        format!("/tiles/dltb,roads/{TILE}"),
    ] {
        assert_eq!(
            get(&router, &uri, None).await.status,
            StatusCode::OK,
            "{uri}"
        );
    }
    for v in [
        y2023.to_string(),
        y2024.to_string(),
        roads.to_string(),
        format!("{y2024}.{roads}"),
    ] {
        assert!(dir.join(format!("v{v}")).exists(), "v{v}");
    }

    // 2024 published again: its first version is superseded, 2023 stays.
    let y2024b = load(
        &db,
        "dltb",
        "ingest/shandan_parcels_4326.geojson",
        Some(2024),
    )
    .await;
    wait_for_version(&router, "dltb", y2024b).await;
    wait_until("the superseded 2024 files are removed", || {
        !dir.join(format!("v{y2024}")).exists() && !dir.join(format!("v{y2024}.{roads}")).exists()
    })
    .await;
    assert!(dir.join(format!("v{y2023}")).exists());
    assert!(dir.join(format!("v{roads}")).exists());

    // The roads layer dropped: its files go.
    db.client()
        .await
        .execute("DELETE FROM onemap.layers WHERE id = 'roads'", &[])
        .await
        .unwrap();
    wait_until("the dropped layer's files are removed", || {
        !dir.join(format!("v{roads}")).exists()
    })
    .await;
    assert!(dir.join(format!("v{y2023}")).exists());
    assert!(stats(&state).purged_versions >= 4);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn the_disk_tier_keeps_within_its_size_bound_dropping_the_least_recently_used_tiles() {
    let db = TestDb::new().await;
    let version = load(&db, "parcels", "tiles/parcels_4326.geojson", None).await;
    // The 16 z11 tiles under the z9 tile.
    let xy = |i: usize| (399 * 4 + i as u32 / 4, 196 * 4 + i as u32 % 4);
    let uri = |i: usize| format!("/tiles/parcels/11/{}/{}", xy(i).0, xy(i).1);

    // Unbounded first, to learn each tile file's size.
    let dir = cache_dir("sizes");
    let file =
        |dir: &Path, i: usize| dir.join(format!("v{version}/11/{}/{}.tile", xy(i).0, xy(i).1));
    let router = app(server(&db, 0, Some(&dir), 1 << 30).await);
    let mut sizes = Vec::new();
    for i in 0..16 {
        assert!(get(&router, &uri(i), None).await.status.is_success());
        sizes.push(blocks(std::fs::metadata(file(&dir, i)).unwrap().len()));
    }
    std::fs::remove_dir_all(&dir).ok();
    let bound = sizes.iter().sum::<u64>() / 3;

    // A model of the rule: each use makes a tile the most recent; a miss writes it, then the
    // least recent go while the total exceeds the bound.
    struct Model {
        order: Vec<usize>,
        hits: u64,
    }
    let mut model = Model {
        order: Vec::new(),
        hits: 0,
    };
    let use_tile = |m: &mut Model, i: usize| {
        if let Some(at) = m.order.iter().position(|&t| t == i) {
            m.order.remove(at);
            m.hits += 1;
        }
        m.order.push(i);
        while m.order.iter().map(|&t| sizes[t]).sum::<u64>() > bound {
            m.order.remove(0);
        }
    };

    // Bounded: every tile once; then the least recent tile left (a hit that makes it the most
    // recent, so it must outlive tiles written after it); then tile 0 again (evicted: a miss).
    let dir = cache_dir("bounded");
    let bounded = server(&db, 0, Some(&dir), bound).await;
    let router = app(bounded.clone());
    let mut requests: Vec<usize> = (0..16).collect();
    for i in 0..16 {
        use_tile(&mut model, i);
    }
    let oldest_left = model.order[0];
    use_tile(&mut model, oldest_left);
    use_tile(&mut model, 0);
    requests.extend([oldest_left, 0]);
    for &i in &requests {
        assert!(get(&router, &uri(i), None).await.status.is_success());
    }
    assert!(model.order.contains(&oldest_left), "{:?}", model.order);
    let on_disk: u64 = tile_files(&dir)
        .iter()
        .map(|f| blocks(std::fs::metadata(f).unwrap().len()))
        .sum();
    assert!(on_disk <= bound, "{on_disk} bytes on disk, bound {bound}");
    let mut kept = tile_files(&dir);
    kept.sort();
    let mut want: Vec<PathBuf> = model.order.iter().map(|&i| file(&dir, i)).collect();
    want.sort();
    assert_eq!(kept, want, "sizes {sizes:?}, bound {bound}");
    let s = stats(&bounded);
    assert_eq!(s.hits, model.hits, "{s:?}");
    assert_eq!(s.writes, requests.len() as u64 - model.hits, "{s:?}");
    assert!(s.evicted > 0, "{s:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_restricted_layers_tile_on_disk_is_never_served_to_a_caller_who_may_not_read_it() {
    let db = TestDb::new().await;
    load(&db, "secret", "tiles/parcels_4326.geojson", None).await;
    let mut client = db.client().await;
    let operator = Acting::operator("test");
    layers::set_access(&mut client, &operator, "secret", "restricted", None)
        .await
        .unwrap();
    let mut token = std::collections::HashMap::new();
    for (name, department) in [("owner", "zrzy"), ("other", "lcj")] {
        users::add(&mut client, &operator, name, department, Role::Viewer, None)
            .await
            .unwrap();
        token.insert(
            name,
            tokens::create(&mut client, &operator, name, "test")
                .await
                .unwrap()
                .1,
        );
    }
    let dir = cache_dir("restricted");
    let uri = format!("/tiles/secret/{TILE}");
    for restart in 0..2 {
        let state = server(&db, if restart == 0 { 64 } else { 0 }, Some(&dir), 1 << 30).await;
        let router = app(state.clone());
        // Refused before the cache is asked: the disk tier is not even looked at.
        for caller in [None, Some(token["other"].as_str())] {
            let refused = get(&router, &uri, caller).await;
            assert_eq!(refused.status, StatusCode::NOT_FOUND, "restart {restart}");
            assert!(refused.body.len() < 200 && !refused.body.starts_with(b"\x1a"));
        }
        assert_eq!(stats(&state), DiskTierStats::default(), "restart {restart}");
        let owner = get(&router, &uri, Some(&token["owner"])).await;
        assert_eq!(owner.status, StatusCode::OK);
        assert!(owner.headers["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("private"));
        let s = stats(&state);
        assert_eq!(
            (s.hits, s.writes),
            if restart == 0 { (0, 1) } else { (1, 0) }
        );
        for caller in [None, Some(token["other"].as_str())] {
            assert_eq!(
                get(&router, &uri, caller).await.status,
                StatusCode::NOT_FOUND
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
