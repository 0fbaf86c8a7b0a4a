//! Tiles at production quality (issue 8): the version-keyed cache (new versions served at once,
//! ETag and 304, gzip, Cache-Control), composite tiles, and generalised land use (tiles under
//! 500 KB at every zoom, class areas at z8 within 5% of the truth), against a real PostGIS.

mod helpers;

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use geozero::mvt::{Message, Tile};
use geozero::ToGeo;
use helpers::{fixture, TestDb};
use http_body_util::BodyExt;
use onemap_ingest::{ingest, IngestRequest};
use onemap_tile_server::{app, AppState, ServerConfig};
use serde_json::{json, Value};
use tower::ServiceExt;

async fn load(db: &TestDb, layer: &str, path: PathBuf, year: Option<i32>) -> i64 {
    let mut client = db.client().await;
    let report = ingest(
        &mut client,
        &IngestRequest {
            path: path.clone(),
            layer: layer.into(),
            department: "zrzy".into(),
            year,
            ingested_by: "test".into(),
            ..IngestRequest::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("ingest of {} failed: {e}", path.display()));
    report.version_id
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

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

async fn get_with(app: &Router, uri: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = Request::get(uri).header("host", "onemap.test");
    for (k, v) in headers {
        request = request.header(*k, *v);
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

async fn get(app: &Router, uri: &str) -> Answer {
    get_with(app, uri, &[]).await
}

fn header<'a>(a: &'a Answer, name: &str) -> &'a str {
    a.headers.get(name).map_or("", |v| v.to_str().unwrap_or(""))
}

/// Waits until the server's catalog shows `version` as the newest of layer `id`.
async fn wait_for_version(app: &Router, id: &str, version: i64) {
    let started = Instant::now();
    loop {
        let a = get(app, &format!("/api/layers/{id}")).await;
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

/// The MVT layers of a tile: name → features (properties, geometry in tile units).
type Decoded = HashMap<String, Vec<(HashMap<String, String>, geo_types::Geometry<f64>)>>;

fn decode(body: &[u8]) -> Decoded {
    let tile = Tile::decode(body).expect("a valid MVT");
    tile.layers
        .iter()
        .map(|l| {
            assert_eq!(l.extent, Some(4096));
            let features = l
                .features
                .iter()
                .map(|f| {
                    let props = f
                        .tags
                        .chunks(2)
                        .map(|pair| {
                            let v = &l.values[pair[1] as usize];
                            let value = v
                                .string_value
                                .clone()
                                .or_else(|| v.double_value.map(|d| d.to_string()))
                                .unwrap_or_default();
                            (l.keys[pair[0] as usize].clone(), value)
                        })
                        .collect();
                    (props, f.to_geo().expect("decodable geometry"))
                })
                .collect();
            (l.name.clone(), features)
        })
        .collect()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_version_published_while_clients_request_tiles_is_served_on_the_next_request() {
    let db = TestDb::new().await;
    let v1 = load(&db, "parcels", fixture("tiles/parcels_4326.geojson"), None).await;
    let app = server(&db).await;
    // A z9 tile holding every parcel of the second file and some of the first.
    let uri = "/tiles/parcels/9/399/196";
    let first = get(&app, uri).await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(header(&first, "etag").contains(&format!("v{v1}-")));
    let before = &decode(&first.body)["parcels"];
    assert!(!before.is_empty() && before.iter().all(|(p, _)| p.contains_key("kind")));

    // Clients keep asking (and filling the cache) while the new version is published.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (app, stop) = (app.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                assert_eq!(get(&app, uri).await.status, StatusCode::OK);
                n += 1;
                // Cache hits complete without waiting: let the publisher run.
                tokio::task::yield_now().await;
            }
            n
        }));
    }
    let v2 = load(
        &db,
        "parcels",
        fixture("ingest/shandan_parcels_4326.geojson"),
        None,
    )
    .await;
    wait_for_version(&app, "parcels", v2).await;
    let next = get(&app, uri).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for c in clients {
        assert!(c.await.unwrap() > 0);
    }
    assert!(
        header(&next, "etag").contains(&format!("v{v2}-")),
        "{}",
        header(&next, "etag")
    );
    let after = &decode(&next.body)["parcels"];
    assert_eq!(after.len(), 6, "the new version's parcels");
    assert!(after.iter().all(|(p, _)| p.contains_key("BSM")));
    assert_ne!(header(&next, "etag"), header(&first, "etag"));
}

#[tokio::test]
async fn a_matching_etag_gets_304_and_gzip_is_served_when_accepted() {
    let db = TestDb::new().await;
    load(&db, "parcels", fixture("tiles/parcels_4490.geojson"), None).await;
    let app = server(&db).await;
    let uri = "/tiles/parcels/12/3198/1571";

    let plain = get(&app, uri).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(header(&plain, "content-encoding"), "");
    assert_eq!(
        header(&plain, "cache-control"),
        "public, max-age=0, must-revalidate"
    );
    let etag = header(&plain, "etag").to_owned();
    assert!(etag.starts_with("W/\"v"), "{etag}");

    let zipped = get_with(&app, uri, &[("accept-encoding", "gzip, deflate, br")]).await;
    assert_eq!(zipped.status, StatusCode::OK);
    assert_eq!(header(&zipped, "content-encoding"), "gzip");
    assert_eq!(header(&zipped, "etag"), etag);
    assert_eq!(gunzip(&zipped.body), plain.body);
    assert!(!decode(&plain.body)["parcels"].is_empty());

    let not_modified = get_with(&app, uri, &[("if-none-match", &etag)]).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert!(not_modified.body.is_empty());
    assert_eq!(header(&not_modified, "etag"), etag);
    let other = get_with(&app, uri, &[("if-none-match", "W/\"v999-0-0-0-00\"")]).await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.body, plain.body);
}

#[tokio::test]
async fn a_composite_tile_has_both_layers_and_404s_if_one_is_hidden_or_unknown() {
    let db = TestDb::new().await;
    load(
        &db,
        "parcels_a",
        fixture("tiles/parcels_4326.geojson"),
        None,
    )
    .await;
    load(
        &db,
        "parcels_b",
        fixture("ingest/shandan_parcels_4326.geojson"),
        None,
    )
    .await;
    let app = server(&db).await;

    let both = get(&app, "/tiles/parcels_a,parcels_b/9/399/196").await;
    assert_eq!(both.status, StatusCode::OK);
    let layers = decode(&both.body);
    assert!(!layers["parcels_a"].is_empty());
    assert_eq!(layers["parcels_b"].len(), 6);
    // Each part equals the layer's own tile.
    let a = get(&app, "/tiles/parcels_a/9/399/196").await;
    let b = get(&app, "/tiles/parcels_b/9/399/196").await;
    assert_eq!(both.body, [a.body, b.body].concat());

    let tilejson = get(&app, "/tiles/parcels_a,parcels_b").await;
    assert_eq!(tilejson.status, StatusCode::OK);
    let tj: Value = serde_json::from_slice(&tilejson.body).unwrap();
    assert_eq!(
        tj["tiles"][0],
        "http://onemap.test/tiles/parcels_a,parcels_b/{z}/{x}/{y}"
    );
    let ids: Vec<&str> = tj["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["parcels_a", "parcels_b"]);

    let unknown = get(&app, "/tiles/parcels_a,nowhere/9/399/196").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let twice = get(&app, "/tiles/parcels_a,parcels_a/9/399/196").await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);

    // Hide parcels_b from the public: the composite no longer exists for an anonymous caller.
    db.client()
        .await
        .execute(
            "UPDATE onemap.layers SET access_level = 'restricted' WHERE id = 'parcels_b'",
            &[],
        )
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        if get(&app, "/api/layers/parcels_b").await.status == StatusCode::NOT_FOUND {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "never hidden");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for uri in [
        "/tiles/parcels_a,parcels_b/9/399/196",
        "/tiles/parcels_b,parcels_a/9/399/196",
        "/tiles/parcels_a,parcels_b",
    ] {
        assert_eq!(get(&app, uri).await.status, StatusCode::NOT_FOUND, "{uri}");
    }
    assert_eq!(
        get(&app, "/tiles/parcels_a/9/399/196").await.status,
        StatusCode::OK
    );
}

// ---- generalised land use ----

/// West, south, east, north of the generated parcels, around the county centre.
const BBOX: [f64; 4] = [100.7, 38.3, 101.5, 38.9];
const CLASSES: [&str; 8] = [
    "0103", "0102", "0401", "0404", "0305", "0301", "1207", "0702",
];

/// A class of a few parcels only: small classes must keep their area at low zooms too.
const RARE: &str = "1109";

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn unit(a: u64, b: u64) -> f64 {
    (splitmix(a.wrapping_mul(1_000_003) ^ b) % 10_000) as f64 / 10_000.0
}

/// `cols × rows` jittered quads tiling [`BBOX`] exactly, classed by a smooth field (regions of
/// one class, as land use has) with a fifth of the parcels picked at random and a few of the
/// [`RARE`] class.
fn write_parcels(path: &Path, cols: u64, rows: u64) {
    let dx = (BBOX[2] - BBOX[0]) / cols as f64;
    let dy = (BBOX[3] - BBOX[1]) / rows as f64;
    let node = |i: u64, j: u64| -> [f64; 2] {
        let inner = |k: u64, n: u64| k > 0 && k < n;
        let jx = if inner(i, cols) {
            unit(i, j * 2) - 0.5
        } else {
            0.0
        };
        let jy = if inner(j, rows) {
            unit(i, j * 2 + 1) - 0.5
        } else {
            0.0
        };
        [
            BBOX[0] + (i as f64 + 0.4 * jx) * dx,
            BBOX[1] + (j as f64 + 0.4 * jy) * dy,
        ]
    };
    let mut features = Vec::with_capacity((cols * rows) as usize);
    for i in 0..cols {
        for j in 0..rows {
            let (x, y) = (i as f64 / cols as f64, j as f64 / rows as f64);
            let field = (x * 7.0).sin() + (y * 9.0 + x * 3.0).cos() * 1.5 + (x * y * 20.0).sin();
            let k = if unit(i + 7, j + 11) < 0.2 {
                (splitmix(i * 31 + j) % CLASSES.len() as u64) as usize
            } else {
                (((field + 3.5) * 1.3) as usize).min(CLASSES.len() - 1)
            };
            // A handful of parcels of a rare class, each smaller than a pixel at z8.
            let class = if splitmix(i * 7919 + j * 104_729) % 4000 == 0 {
                RARE
            } else {
                CLASSES[k]
            };
            let ring = [
                node(i, j),
                node(i + 1, j),
                node(i + 1, j + 1),
                node(i, j + 1),
                node(i, j),
            ];
            features.push(json!({
                "type": "Feature",
                "properties": {"DLBM": class, "BSM": format!("{i}-{j}")},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }));
        }
    }
    let fc = json!({"type": "FeatureCollection", "features": features});
    std::fs::write(path, serde_json::to_vec(&fc).unwrap()).unwrap();
}

const EARTH: f64 = 40_075_016.685_578_49;
const R_WGS84: f64 = 6_378_137.0;
/// Radius of the sphere with the WGS 84 ellipsoid's area.
const R_AUTHALIC: f64 = 6_371_007.2;

fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = (lon + 180.0) / 360.0 * n;
    let lat = lat.to_radians();
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    (x as u32, y as u32)
}

/// Clips a ring (tile units) to the tile square (Sutherland–Hodgman; the square is convex, and
/// the area of the result is the area of the ring inside the square even for concave rings).
fn clip(ring: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = ring.to_vec();
    let edges: [(usize, f64, bool); 4] = [
        (0, 0.0, true),
        (0, 4096.0, false),
        (1, 0.0, true),
        (1, 4096.0, false),
    ];
    for (axis, limit, keep_above) in edges {
        let input = std::mem::take(&mut out);
        if input.is_empty() {
            break;
        }
        let inside = |p: &(f64, f64)| {
            let v = if axis == 0 { p.0 } else { p.1 };
            if keep_above {
                v >= limit
            } else {
                v <= limit
            }
        };
        let cross = |a: &(f64, f64), b: &(f64, f64)| {
            let (va, vb) = if axis == 0 { (a.0, b.0) } else { (a.1, b.1) };
            let t = (limit - va) / (vb - va);
            (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
        };
        for k in 0..input.len() {
            let (cur, prev) = (&input[k], &input[(k + input.len() - 1) % input.len()]);
            match (inside(prev), inside(cur)) {
                (true, true) => out.push(*cur),
                (true, false) => out.push(cross(prev, cur)),
                (false, true) => {
                    out.push(cross(prev, cur));
                    out.push(*cur);
                }
                (false, false) => {}
            }
        }
    }
    out
}

/// Ground area in m² of a ring in tile units of tile z/x/y, on the sinusoidal (equal-area)
/// projection of the authalic sphere.
fn ring_area_m2(ring: &[(f64, f64)], z: u8, x: u32, y: u32) -> f64 {
    let size = EARTH / f64::from(1u32 << z);
    let pts: Vec<(f64, f64)> = ring
        .iter()
        .map(|&(px, py)| {
            let mx = -EARTH / 2.0 + (f64::from(x) + px / 4096.0) * size;
            let my = EARTH / 2.0 - (f64::from(y) + py / 4096.0) * size;
            let lon = mx / R_WGS84;
            let lat = (my / R_WGS84).sinh().atan();
            (R_AUTHALIC * lon * lat.cos(), R_AUTHALIC * lat)
        })
        .collect();
    let mut twice = 0.0;
    for k in 0..pts.len() {
        let (a, b) = (pts[k], pts[(k + 1) % pts.len()]);
        twice += a.0 * b.1 - b.0 * a.1;
    }
    (twice / 2.0).abs()
}

fn polygon_area_m2(p: &geo_types::Polygon<f64>, z: u8, x: u32, y: u32) -> f64 {
    let ring = |r: &geo_types::LineString<f64>| {
        let pts: Vec<(f64, f64)> = r.0.iter().map(|c| (c.x, c.y)).collect();
        ring_area_m2(&clip(&pts), z, x, y)
    };
    ring(p.exterior()) - p.interiors().iter().map(ring).sum::<f64>()
}

#[tokio::test]
async fn land_use_tiles_stay_under_500_kb_at_every_zoom_and_keep_class_areas_at_z8() {
    let db = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("onemap-tiles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("generated_parcels.geojson");
    write_parcels(&file, 200, 120); // 24 000 parcels of about 350 m × 550 m
    let version = load(&db, "dltb", file.clone(), Some(2024)).await;
    std::fs::remove_dir_all(&dir).ok();
    let app = server(&db).await;

    // Every zoom from 0 to 16 at the county centre, and at z0..z11 every tile of the data.
    let mut largest = (0usize, String::new());
    for z in 0..=16u8 {
        let (cx, cy) = tile_of(101.1, 38.6, z);
        let mut tiles = vec![(cx, cy)];
        if z <= 11 {
            let (x0, y0) = tile_of(BBOX[0], BBOX[3], z);
            let (x1, y1) = tile_of(BBOX[2], BBOX[1], z);
            tiles = (x0..=x1)
                .flat_map(|x| (y0..=y1).map(move |y| (x, y)))
                .collect();
        }
        for (x, y) in tiles {
            let uri = format!("/tiles/dltb/{z}/{x}/{y}");
            let a = get(&app, &uri).await;
            assert_eq!(
                a.status,
                StatusCode::OK,
                "{uri}: {}",
                String::from_utf8_lossy(&a.body)
            );
            assert!(a.body.len() < 500 * 1024, "{uri}: {} bytes", a.body.len());
            if a.body.len() > largest.0 {
                largest = (a.body.len(), uri.clone());
            }
            if z <= 11 && (x, y) == (cx, cy) {
                // Low zooms: land use is there (not dropped), with the class only.
                let layer = &decode(&a.body)["dltb"];
                assert!(!layer.is_empty(), "{uri} is empty");
                assert!(layer
                    .iter()
                    .all(|(p, _)| p.len() == 1 && p.contains_key("DLBM")));
            }
        }
    }
    println!("largest tile: {} bytes at {}", largest.0, largest.1);

    // The true area per class, from the parcels' geodesic areas.
    let rows = db
        .client()
        .await
        .query(
            "SELECT props ->> 'DLBM', sum(area_m2) FROM onemap.features WHERE version_id = $1 GROUP BY 1",
            &[&version],
        )
        .await
        .unwrap();
    let truth: HashMap<String, f64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    // The area per class drawn in the z8 tiles, each tile clipped to its own square.
    let z = 8;
    let (x0, y0) = tile_of(BBOX[0], BBOX[3], z);
    let (x1, y1) = tile_of(BBOX[2], BBOX[1], z);
    let mut shown: HashMap<String, f64> = HashMap::new();
    for x in x0..=x1 {
        for y in y0..=y1 {
            let a = get(&app, &format!("/tiles/dltb/{z}/{x}/{y}")).await;
            for (props, geom) in decode(&a.body).remove("dltb").unwrap_or_default() {
                let area = match &geom {
                    geo_types::Geometry::Polygon(p) => polygon_area_m2(p, z, x, y),
                    geo_types::Geometry::MultiPolygon(mp) => {
                        mp.0.iter().map(|p| polygon_area_m2(p, z, x, y)).sum()
                    }
                    other => panic!("not a polygon: {other:?}"),
                };
                *shown.entry(props["DLBM"].clone()).or_default() += area;
            }
        }
    }
    assert!(truth.contains_key(RARE), "the rare class is in the data");
    for (class, true_m2) in &truth {
        let drawn = shown.get(class).copied().unwrap_or(0.0);
        let error = (drawn - true_m2).abs() / true_m2;
        println!(
            "{class}: true {:.1} km², z8 {:.1} km², {:+.2}%",
            true_m2 / 1e6,
            drawn / 1e6,
            (drawn / true_m2 - 1.0) * 100.0
        );
        // The issue asks for 5%; the mosaic draws each class's area to the tile unit.
        assert!(
            error < 0.01,
            "class {class}: {drawn} m² drawn at z8 for {true_m2} m²"
        );
    }
}

#[tokio::test]
async fn low_zooms_built_by_an_older_method_are_rebuilt_not_served() {
    let db = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("onemap-tiles-method-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("generated_parcels.geojson");
    write_parcels(&file, 60, 40); // 2 400 parcels: enough to be generalised
    let version = load(&db, "dltb", file, Some(2024)).await;
    std::fs::remove_dir_all(&dir).ok();
    let (x, y) = tile_of(101.1, 38.6, 8);
    let uri = format!("/tiles/dltb/8/{x}/{y}");
    let method = |client: tokio_postgres::Client| async move {
        client
            .query_one(
                "SELECT method FROM onemap.generalised_versions WHERE version_id = $1",
                &[&version],
            )
            .await
            .unwrap()
            .get::<_, String>(0)
    };

    let first = get(&server(&db).await, &uri).await;
    assert_eq!(first.status, StatusCode::OK);
    let current = method(db.client().await).await;
    assert!(current.starts_with("mosaic"), "{current}");

    // As an older server would have left it: another method, and shapes of its own.
    db.client()
        .await
        .batch_execute(&format!(
            "UPDATE onemap.generalised_versions SET method = 'dissolve' WHERE version_id = {version};
             INSERT INTO onemap.generalised_land_use (version_id, zoom, class, geom_3857)
             SELECT {version}, 8, 'OLD', ST_TileEnvelope(8, {x}, {y});"
        ))
        .await
        .unwrap();
    let again = get(&server(&db).await, &uri).await;
    assert_eq!(again.status, StatusCode::OK);
    let areas = |body: &[u8]| {
        let mut out: HashMap<String, f64> = HashMap::new();
        for (props, geom) in decode(body).remove("dltb").unwrap_or_default() {
            let area = match &geom {
                geo_types::Geometry::Polygon(p) => polygon_area_m2(p, 8, x, y),
                geo_types::Geometry::MultiPolygon(mp) => {
                    mp.0.iter().map(|p| polygon_area_m2(p, 8, x, y)).sum()
                }
                other => panic!("not a polygon: {other:?}"),
            };
            *out.entry(props["DLBM"].clone()).or_default() += area;
        }
        out
    };
    let (before, after) = (areas(&first.body), areas(&again.body));
    assert!(!after.contains_key("OLD"), "{after:?}");
    assert_eq!(method(db.client().await).await, current);
    // The rebuilt tile draws what the first build drew.
    assert_eq!(
        before.keys().collect::<std::collections::BTreeSet<_>>(),
        after.keys().collect()
    );
    for (class, area) in &before {
        assert!(
            (after[class] - area).abs() <= area * 1e-9,
            "{class}: {area} then {}",
            after[class]
        );
    }
}
