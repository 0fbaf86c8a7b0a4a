//! Offline packages (issue 8, item 5): `onemap_tile_server::export::export` writes PMTiles and
//! MBTiles whose tiles are exactly the server's composite tiles for the same z/x/y, holds
//! every non-empty tile of the range and no empty one, and describes itself (bounds, zooms,
//! vector layers, style layers), against a real PostGIS.

mod helpers;

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use flate2::read::GzDecoder;
use geozero::mvt::{Message, Tile};
use helpers::{fixture, TestDb};
use http_body_util::BodyExt;
use onemap_ingest::{ingest, IngestRequest};
use onemap_tile_server::export::{
    export, tile_id, tile_range, ExportError, ExportRequest, PmtilesReader,
};
use onemap_tile_server::{app, AppState, ServerConfig};
use serde_json::Value;
use tower::ServiceExt;

const LAYERS: &str = "parcels_wgs84,parcels_gk34";
const MAX_ZOOM: u8 = 13;

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

/// Two layers: a dated one (two survey years) and an undated one in Gauss-Krüger.
async fn fixture_db() -> TestDb {
    let db = TestDb::new().await;
    load(
        &db,
        "parcels_wgs84",
        "tiles/parcels_4326.geojson",
        Some(2023),
    )
    .await;
    load(
        &db,
        "parcels_wgs84",
        "tiles/parcels_4490.geojson",
        Some(2024),
    )
    .await;
    load(&db, "parcels_gk34", "tiles/parcels_4543.gpkg", None).await;
    db
}

fn request(bbox: Option<[f64; 4]>) -> ExportRequest {
    ExportRequest {
        layers: LAYERS.split(',').map(str::to_owned).collect(),
        year: Some(2023),
        bbox,
        minzoom: 0,
        maxzoom: MAX_ZOOM,
        concurrency: 4,
    }
}

async fn server(db: &TestDb) -> Router {
    let config = ServerConfig {
        database_url: db.url.clone(),
        viewer_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../viewer"),
        pool_size: 4,
        tile_cache_mb: 0,
    };
    app(AppState::new(&config).await.unwrap())
}

/// Every non-empty tile the server answers for the export's layers and year within `bbox`,
/// uncompressed, by (z, x, y).
async fn server_tiles(app: &Router, bbox: [f64; 4]) -> BTreeMap<(u8, u32, u32), Vec<u8>> {
    let mut out = BTreeMap::new();
    for z in 0..=MAX_ZOOM {
        let (cols, rows) = tile_range(bbox, z);
        for x in cols {
            for y in rows.clone() {
                let uri = format!("/tiles/{LAYERS}/{z}/{x}/{y}?year=2023");
                let response = app
                    .clone()
                    .oneshot(Request::get(&uri).body(Body::empty()).unwrap())
                    .await
                    .unwrap();
                let status = response.status();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                match status {
                    StatusCode::NO_CONTENT => {}
                    StatusCode::OK => {
                        out.insert((z, x, y), body.to_vec());
                    }
                    other => panic!("{uri}: {other}"),
                }
            }
        }
    }
    out
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut raw = Vec::new();
    GzDecoder::new(bytes)
        .read_to_end(&mut raw)
        .expect("a gzip-compressed tile");
    raw
}

fn layer_names(raw: &[u8]) -> Vec<String> {
    Tile::decode(raw)
        .expect("a valid MVT")
        .layers
        .into_iter()
        .map(|l| l.name)
        .collect()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("onemap-export-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The layers' extent as the catalog has it (the default bbox of an export).
async fn catalog_bbox(db: &TestDb) -> [f64; 4] {
    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT min(bbox[1]), min(bbox[2]), max(bbox[3]), max(bbox[4]) \
             FROM (SELECT ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)] AS bbox \
                   FROM (SELECT ST_Extent(ST_Transform(geom, 4326))::geometry AS e \
                         FROM onemap.features f JOIN onemap.layer_versions v ON v.id = f.version_id \
                         WHERE v.year = 2023 OR v.year IS NULL GROUP BY v.id) x) y",
            &[],
        )
        .await
        .unwrap();
    [row.get(0), row.get(1), row.get(2), row.get(3)]
}

#[tokio::test]
async fn a_pmtiles_package_holds_exactly_the_servers_non_empty_tiles() {
    let db = fixture_db().await;
    let dir = scratch("pmtiles");
    let out = dir.join("station.pmtiles");
    let report = export(&db.url, &request(None), &out).await.unwrap();
    let mut reader = PmtilesReader::open(&out).unwrap();
    let metadata = reader.metadata().unwrap();
    let bounds = reader.header.bounds;
    let expected = catalog_bbox(&db).await;
    for (got, want) in bounds.iter().zip(expected) {
        assert!(
            (got - want).abs() < 1e-4,
            "bounds {bounds:?}, extent {expected:?}"
        );
    }

    let server = server_tiles(&server(&db).await, bounds).await;
    assert!(
        server.len() > MAX_ZOOM as usize,
        "only {} tiles",
        server.len()
    );
    assert_eq!(report.tiles as usize, server.len());
    assert!(report.rendered >= report.tiles);
    let packaged: BTreeMap<u64, Vec<u8>> = reader.tiles().unwrap().into_iter().collect();
    assert_eq!(packaged.len(), server.len());
    for ((z, x, y), raw) in &server {
        let tile = packaged
            .get(&tile_id(*z, *x, *y))
            .unwrap_or_else(|| panic!("tile {z}/{x}/{y} missing from the package"));
        assert_eq!(
            &gunzip(tile),
            raw,
            "tile {z}/{x}/{y} differs from the server's"
        );
        assert_eq!(reader.get(*z, *x, *y).unwrap().as_ref(), Some(tile));
    }
    // z0 holds both layers, one MVT layer each, in request order.
    assert_eq!(
        layer_names(&server[&(0, 0, 0)]),
        ["parcels_wgs84", "parcels_gk34"]
    );

    let h = &reader.header;
    assert_eq!((h.minzoom, h.maxzoom), (0, MAX_ZOOM));
    assert_eq!((h.tile_type, h.tile_compression), (1, 2));
    assert!(h.clustered);
    assert_eq!(h.addressed_tiles, report.tiles);
    assert_eq!(h.tile_contents, report.unique);
    let ids: Vec<&str> = metadata["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["parcels_wgs84", "parcels_gk34"]);
    let versions = &metadata["onemap:versions"];
    assert_eq!(versions[0]["year"], 2023);
    assert_eq!(versions[1]["year"], Value::Null);
    let style_sources: Vec<&str> = metadata["onemap:style_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["source"].as_str().unwrap())
        .collect();
    assert!(!style_sources.is_empty() && style_sources.iter().all(|s| *s == "onemap"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn an_mbtiles_package_of_a_bbox_holds_the_servers_tiles_in_tms_rows_with_its_metadata() {
    let db = fixture_db().await;
    let dir = scratch("mbtiles");
    let out = dir.join("station.mbtiles");
    // A box the caller gives: the western half of the data and empty land west of it.
    let full = catalog_bbox(&db).await;
    let bbox = [
        full[0] - 0.2,
        full[1],
        f64::midpoint(full[0], full[2]),
        full[3],
    ];
    let report = export(&db.url, &request(Some(bbox)), &out).await.unwrap();
    assert!(
        report.rendered > report.tiles,
        "empty tiles are rendered but left out"
    );

    let server = server_tiles(&server(&db).await, bbox).await;
    assert_eq!(report.tiles as usize, server.len());
    let conn = rusqlite::Connection::open(&out).unwrap();
    let mut packaged = BTreeMap::new();
    let mut stmt = conn
        .prepare("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, u8>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, Vec<u8>>(3)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (z, x, tms_row, data) = row.unwrap();
        let y = (1u32 << z) - 1 - tms_row;
        packaged.insert((z, x, y), gunzip(&data));
    }
    assert_eq!(packaged, server, "package and server differ");

    let meta: BTreeMap<String, String> = conn
        .prepare("SELECT name, value FROM metadata")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(meta["format"], "pbf");
    assert_eq!(meta["minzoom"], "0");
    assert_eq!(meta["maxzoom"], MAX_ZOOM.to_string());
    let bounds: Vec<f64> = meta["bounds"]
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(bounds, bbox);
    let center: Vec<f64> = meta["center"]
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(center.len(), 3);
    assert!(center[0] > bbox[0] && center[0] < bbox[2]);
    let json: Value = serde_json::from_str(&meta["json"]).unwrap();
    assert_eq!(json["vector_layers"].as_array().unwrap().len(), 2);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn an_export_refuses_unknown_layers_missing_years_and_other_file_kinds() {
    let db = fixture_db().await;
    let dir = scratch("refusals");
    let mut unknown = request(None);
    unknown.layers.push("nope".into());
    let no_year = ExportRequest {
        year: Some(1999),
        ..request(None)
    };
    for (req, file, says) in [
        (unknown, "a.pmtiles", "no layer \"nope\""),
        (no_year, "b.pmtiles", "no version for 1999"),
        (request(None), "c.zip", ".pmtiles or .mbtiles"),
    ] {
        match export(&db.url, &req, &dir.join(file)).await {
            Err(ExportError::Request(message)) => {
                assert!(message.contains(says), "{message:?} should say {says:?}");
            }
            other => panic!("expected a refusal saying {says:?}, got {other:?}"),
        }
        assert!(!dir.join(file).exists() || file.ends_with("mbtiles"));
    }
    std::fs::remove_dir_all(dir).unwrap();
}
