//! Ad-hoc zones (`POST /api/trends/area`, `/api/trends/transitions`, `/api/changes` with a
//! GeoJSON polygon body), the places of every change parcel (reserve zone, station, village),
//! and the change-parcel GeoPackage, on the hand-checkable fixtures of tests/fixtures/trends
//! (README there): squares of whole hectares in EPSG:4543, cell (x, y) with its south-west
//! corner at E = 499 700 + 100·x, N = 4 290 000 + 100·y.

mod helpers;

use std::collections::BTreeMap;
use std::path::Path;

use axum::http::{Method, StatusCode};
use axum::Router;
use helpers::http::{call, encode, login_session, send, Credential, Req};
use helpers::TestDb;
use onemap_access::{users, Acting, Role};
use onemap_tile_server::{app, AppState, ServerConfig};
use serde_json::Value;

const HA: f64 = 10_000.0;

async fn world() -> (TestDb, tokio_postgres::Client, Router) {
    let db = TestDb::new().await;
    let client = helpers::survey_fixtures::load_zoning_and_surveys(&db, "landuse").await;
    let config = ServerConfig {
        database_url: db.url.clone(),
        viewer_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../viewer"),
        pool_size: 4,
        tile_cache_mb: 8,
    };
    let app = app(AppState::new(&config).await.unwrap());
    (db, client, app)
}

/// A polygon given in fixture cells, as GeoJSON in EPSG:4326 (PostGIS transforms the corners;
/// 15 decimals, so the server's transform back lands on the same metres).
async fn cells(client: &tokio_postgres::Client, ring: &[(f64, f64)]) -> Value {
    let wkt = format!(
        "POLYGON(({}))",
        ring.iter()
            .map(|(x, y)| format!("{} {}", 499_700.0 + 100.0 * x, 4_290_000.0 + 100.0 * y))
            .collect::<Vec<_>>()
            .join(",")
    );
    let text: String = client
        .query_one(
            "SELECT ST_AsGeoJSON(ST_Transform(ST_GeomFromText($1, 4543), 4326), 15)",
            &[&wkt],
        )
        .await
        .unwrap()
        .get(0);
    serde_json::from_str(&text).unwrap()
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<(f64, f64)> {
    vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
}

async fn post(app: &Router, uri: &str, body: &Value) -> (StatusCode, Value) {
    let a = send(
        app,
        Method::POST,
        uri,
        Req {
            body: Some(body.to_string()),
            ..Req::default()
        },
    )
    .await;
    let json = serde_json::from_str(&a.body).unwrap_or(Value::String(a.body.clone()));
    (a.status, json)
}

fn assert_ha(actual: f64, expected_ha: f64, what: &str) {
    let expected = expected_ha * HA;
    assert!(
        (actual - expected).abs() <= 1e-6 * expected.max(HA),
        "{what}: {actual} m² is not {expected} m²"
    );
}

/// `class → m²` of one year of an area series answer.
fn year(series: &Value, year: i64) -> BTreeMap<String, f64> {
    series["series"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["year"] == year)
        .map(|p| {
            (
                p["class"].as_str().unwrap().to_owned(),
                p["area_m2"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn assert_classes(actual: &BTreeMap<String, f64>, expected_ha: &[(&str, f64)], what: &str) {
    let mut keys: Vec<&str> = expected_ha.iter().map(|(c, _)| *c).collect();
    keys.sort_unstable();
    assert_eq!(
        actual.keys().map(String::as_str).collect::<Vec<_>>(),
        keys,
        "{what}: classes"
    );
    for (c, ha) in expected_ha {
        assert_ha(actual[*c], *ha, &format!("{what}, {c}"));
    }
}

fn matrix(m: &Value) -> BTreeMap<(String, String), f64> {
    m["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                (
                    c["from_class"].as_str().unwrap().to_owned(),
                    c["to_class"].as_str().unwrap().to_owned(),
                ),
                c["area_m2"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn assert_matrix(m: &Value, expected_ha: &[(&str, &str, f64)], what: &str) {
    let actual = matrix(m);
    let mut keys: Vec<(String, String)> = expected_ha
        .iter()
        .map(|(f, t, _)| (f.to_string(), t.to_string()))
        .collect();
    keys.sort();
    assert_eq!(
        actual.keys().cloned().collect::<Vec<_>>(),
        keys,
        "{what}: {m}"
    );
    for (f, t, ha) in expected_ha {
        assert_ha(
            actual[&(f.to_string(), t.to_string())],
            *ha,
            &format!("{what}, {f} → {t}"),
        );
    }
}

#[tokio::test]
async fn an_ad_hoc_polygon_crossing_zone_and_parcel_borders_gets_the_hand_computed_areas_matrices_and_changes(
) {
    let (_db, client, app) = world().await;
    // x 1–5 × y 1–3 (8 ha): across the forest/cropland border at x = 3, the core/experimental
    // border at x = 4 and the cropland/grassland border at y = 2.
    let zone = cells(&client, &rect(1.0, 1.0, 5.0, 3.0)).await;

    let a = send(
        &app,
        Method::POST,
        "/api/trends/area?layer=landuse",
        Req {
            body: Some(zone.to_string()),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let zone_area: f64 = a.headers["x-onemap-zone-area-m2"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_ha(zone_area, 8.0, "the zone's own area");
    assert!(a.headers.get("x-onemap-zone-repaired").is_none());
    let series = a.json();
    assert_eq!(series["unit"], "m2");
    assert_classes(
        &year(&series, 2020),
        &[("0301", 4.0), ("0103", 2.0), ("0401", 2.0)],
        "2020",
    );
    assert_classes(
        &year(&series, 2021),
        &[("0301", 2.0), ("0602", 2.0), ("0103", 4.0)],
        "2021",
    );
    // The 2022 triangles: the diagonal from (2, 0) to (3, 4) leaves 1 ha on each side in y 1–3.
    assert_classes(
        &year(&series, 2022),
        &[("0301", 3.0), ("0602", 1.0), ("0103", 4.0)],
        "2022",
    );
    let (status, level1) = post(
        &app,
        "/api/trends/area?layer=landuse&level=1&to=2020",
        &zone,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_classes(
        &year(&level1, 2020),
        &[("03", 4.0), ("01", 2.0), ("04", 2.0)],
        "2020 level 1",
    );
    assert!(year(&level1, 2021).is_empty(), "to=2020 stops at 2020");

    for (from, to, expected) in [
        (
            2020,
            2021,
            vec![
                ("0301", "0301", 2.0),
                ("0301", "0602", 2.0),
                ("0103", "0103", 2.0),
                ("0401", "0103", 2.0),
            ],
        ),
        (
            2021,
            2022,
            vec![
                ("0301", "0301", 2.0),
                ("0602", "0301", 1.0),
                ("0602", "0602", 1.0),
                ("0103", "0103", 4.0),
            ],
        ),
        (
            2020,
            2022,
            vec![
                ("0301", "0301", 3.0),
                ("0301", "0602", 1.0),
                ("0103", "0103", 2.0),
                ("0401", "0103", 2.0),
            ],
        ),
    ] {
        let uri = format!("/api/trends/transitions?layer=landuse&from={from}&to={to}");
        let (status, m) = post(&app, &uri, &zone).await;
        assert_eq!(status, StatusCode::OK, "{m}");
        assert_eq!(
            (m["from"].as_i64(), m["to"].as_i64()),
            (Some(from), Some(to))
        );
        assert_matrix(&m, &expected, &format!("ad-hoc {from}→{to}"));
    }
    let (_, m) = post(
        &app,
        "/api/trends/transitions?layer=landuse&from=2020&to=2021",
        &zone,
    )
    .await;
    let forest = m["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["class"] == "0301")
        .unwrap();
    assert_ha(
        forest["persistence_m2"].as_f64().unwrap(),
        2.0,
        "forest persistence",
    );
    assert_ha(forest["loss_m2"].as_f64().unwrap(), 2.0, "forest loss");
    assert_ha(forest["net_m2"].as_f64().unwrap(), -2.0, "forest net");

    // The change parcels clipped to the zone: 2 ha of the mine, 2 ha of ploughed grassland.
    let (status, fc) = post(&app, "/api/changes?layer=landuse&from=2020&to=2021", &zone).await;
    assert_eq!(status, StatusCode::OK, "{fc}");
    let features = fc["features"].as_array().unwrap();
    assert_eq!(features.len(), 2, "{fc}");
    let mut by_class: BTreeMap<String, &Value> = BTreeMap::new();
    for f in features {
        let p = &f["properties"];
        by_class.insert(
            format!(
                "{}→{}",
                p["from_class"].as_str().unwrap(),
                p["to_class"].as_str().unwrap()
            ),
            p,
        );
    }
    assert_ha(
        by_class["0301→0602"]["area_m2"].as_f64().unwrap(),
        2.0,
        "mine inside",
    );
    assert_ha(
        by_class["0401→0103"]["area_m2"].as_f64().unwrap(),
        2.0,
        "ploughed inside",
    );
    // The mine's clipped piece (x 2–3 × y 1–3) lies in the core zone, the Longshoushan
    // station's jurisdiction, nearest to 西村.
    let mine = by_class["0301→0602"];
    assert_eq!(mine["zone"], "核心区");
    assert_eq!(mine["zone_kind"], "core");
    assert_eq!(mine["station"], "龙首山自然保护站");
    assert_eq!(mine["station_code"], "lsz");
    assert_eq!(mine["village"], "西村");
    assert_eq!(mine["village_code"], "620725100001");

    // CSV answers too.
    let a = send(
        &app,
        Method::POST,
        "/api/trends/transitions?layer=landuse&from=2020&to=2021&format=csv",
        Req {
            body: Some(zone.to_string()),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a
        .body
        .starts_with("from_year,to_year,from_class,to_class,area_m2\n"));
    assert_eq!(a.body.lines().count(), 5, "{}", a.body);
}

#[tokio::test]
async fn an_ad_hoc_zone_where_nothing_changed_has_only_persistence_and_no_change_parcels() {
    let (_db, client, app) = world().await;
    // x 0–2 (the forest that stays forest every year), sent as a Feature with an EPSG:4490 crs.
    let zone = serde_json::json!({
        "type": "Feature",
        "properties": { "name": "quiet" },
        "crs": { "type": "name", "properties": { "name": "urn:ogc:def:crs:EPSG::4490" } },
        "geometry": cells(&client, &rect(0.0, 0.0, 2.0, 4.0)).await,
    });
    for (from, to) in [(2020, 2021), (2021, 2022), (2020, 2022)] {
        let uri = format!("/api/trends/transitions?layer=landuse&from={from}&to={to}");
        let (status, m) = post(&app, &uri, &zone).await;
        assert_eq!(status, StatusCode::OK, "{m}");
        assert_matrix(&m, &[("0301", "0301", 8.0)], "quiet zone");
        let forest = &m["classes"][0];
        assert_eq!(
            (forest["gain_m2"].as_f64(), forest["loss_m2"].as_f64()),
            (Some(0.0), Some(0.0))
        );
        let uri = format!("/api/changes?layer=landuse&from={from}&to={to}");
        let (status, fc) = post(&app, &uri, &zone).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(fc["features"].as_array().unwrap().len(), 0, "{fc}");
    }
}

#[tokio::test]
async fn an_ad_hoc_zones_row_sums_equal_its_first_year_and_column_sums_its_second_within_a_hundredth_of_a_percent(
) {
    let (_db, client, app) = world().await;
    // An irregular quadrilateral cutting every parcel at an angle, and the union of two
    // overlapping rectangles sent as a FeatureCollection.
    let slanted = cells(
        &client,
        &[(0.5, 0.3), (5.7, 1.1), (4.2, 3.6), (1.1, 2.9), (0.5, 0.3)],
    )
    .await;
    let feature =
        |g: Value| serde_json::json!({ "type": "Feature", "properties": {}, "geometry": g });
    let union = serde_json::json!({
        "type": "FeatureCollection",
        "features": [
            feature(cells(&client, &rect(1.0, 1.0, 3.0, 3.0)).await),
            feature(cells(&client, &rect(2.0, 1.0, 5.0, 3.0)).await),
        ],
    });
    for (name, zone) in [("slanted", &slanted), ("union", &union)] {
        let (status, series) = post(&app, "/api/trends/area?layer=landuse", zone).await;
        assert_eq!(status, StatusCode::OK, "{series}");
        for (from, to) in [(2020, 2021), (2021, 2022), (2020, 2022)] {
            let uri = format!("/api/trends/transitions?layer=landuse&from={from}&to={to}");
            let (status, m) = post(&app, &uri, zone).await;
            assert_eq!(status, StatusCode::OK, "{m}");
            let mut rows: BTreeMap<String, f64> = BTreeMap::new();
            let mut columns: BTreeMap<String, f64> = BTreeMap::new();
            for ((f, t), a) in matrix(&m) {
                *rows.entry(f).or_default() += a;
                *columns.entry(t).or_default() += a;
            }
            for (sums, areas, side) in [
                (&rows, year(&series, from), "row"),
                (&columns, year(&series, to), "column"),
            ] {
                assert_eq!(
                    sums.keys().collect::<Vec<_>>(),
                    areas.keys().collect::<Vec<_>>(),
                    "{name} {from}→{to}: {side} classes"
                );
                for (class, area) in &areas {
                    assert!(
                        (sums[class] - area).abs() <= 1e-4 * area,
                        "{name} {from}→{to}: {side} sum of {class} is {} m², the area {area} m²",
                        sums[class]
                    );
                }
            }
        }
    }
    // The union is x 1–5 × y 1–3: the hand-computed 2020 areas, within 10⁻⁵ (the union is
    // computed in longitude/latitude, where the two rectangles' shared edges, straight in the
    // Gauss-Krüger plane, are not quite collinear: slivers of a few hundredths of a m²).
    let (_, series) = post(
        &app,
        "/api/trends/area?layer=landuse&from=2020&to=2020",
        &union,
    )
    .await;
    let union_2020 = year(&series, 2020);
    assert_eq!(
        union_2020.keys().collect::<Vec<_>>(),
        ["0103", "0301", "0401"]
    );
    for (class, ha) in [("0301", 4.0), ("0103", 2.0), ("0401", 2.0)] {
        let area = union_2020[class];
        assert!(
            (area - ha * HA).abs() <= 1e-5 * ha * HA,
            "the union, {class}: {area} m² is not {ha} ha"
        );
    }
}

#[tokio::test]
async fn every_change_parcel_carries_its_zone_station_and_village_in_geojson_csv_and_geopackage() {
    let (_db, client, app) = world().await;
    let (status, body) = call(
        &app,
        &Method::GET,
        "/api/changes?layer=landuse&from=2020&to=2021",
        &Credential::Anonymous,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let fc: Value = serde_json::from_str(&body).unwrap();
    let props: Vec<&Value> = fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["properties"])
        .collect();
    assert_eq!(props.len(), 2);
    // Largest first: the 6 ha of ploughed grassland (x 3–6 × y 2–4; its inner point (4.5, 3)
    // lies in the experimental zone, the Dahuangshan station's land, next to 东村), then the
    // 4 ha mine (x 2–3; core zone, Longshoushan, next to 西村). Neither needs to be flagged:
    // the grassland in the experimental zone is not.
    let places = |p: &Value| {
        [
            "from_class",
            "to_class",
            "zone",
            "zone_kind",
            "station",
            "station_code",
            "village",
            "village_code",
        ]
        .map(|k| p[k].as_str().unwrap_or("-").to_owned())
    };
    assert_eq!(
        places(props[0]),
        [
            "0401",
            "0103",
            "实验区",
            "experimental",
            "大黄山自然保护站",
            "dhs",
            "东村",
            "620725100002"
        ]
    );
    assert_eq!(
        places(props[1]),
        [
            "0301",
            "0602",
            "核心区",
            "core",
            "龙首山自然保护站",
            "lsz",
            "西村",
            "620725100001"
        ]
    );

    let (status, csv) = call(
        &app,
        &Method::GET,
        "/api/changes?layer=landuse&from=2020&to=2021&format=csv",
        &Credential::Anonymous,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "from_year,to_year,from_class,to_class,area_m2,from_fid,to_fid,wkt,zone,zone_kind,\
         village_code,village,station,station_code"
    );
    assert!(
        lines[2].ends_with(",核心区,core,620725100001,西村,龙首山自然保护站,lsz"),
        "{}",
        lines[2]
    );

    // The GeoPackage, read back by GDAL.
    let a = send(
        &app,
        Method::GET,
        "/api/changes?layer=landuse&from=2020&to=2021&format=gpkg",
        Req::default(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers["content-type"], "application/geopackage+sqlite3");
    let response = {
        let request =
            axum::http::Request::get("/api/changes?layer=landuse&from=2020&to=2021&format=gpkg")
                .header("host", "onemap.test")
                .body(axum::body::Body::empty())
                .unwrap();
        use tower::ServiceExt;
        app.clone().oneshot(request).await.unwrap()
    };
    use http_body_util::BodyExt;
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let dir = std::env::temp_dir().join(format!("onemap-trends-adhoc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("changes.gpkg");
    std::fs::write(&path, &bytes).unwrap();
    let out = std::process::Command::new("ogrinfo")
        .args(["-al", "-so"])
        .arg(&path)
        .output()
        .expect("ogrinfo (Debian gdal-bin, installed by scripts/setup --test)");
    let info = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{info}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "Layer name: changes",
        "Geometry: Multi Polygon",
        "Feature Count: 2",
        "CGCS2000",
        "from_class: String",
        "to_class: String",
        "area_m2: Real",
        "zone: String",
        "village: String",
        "station: String",
    ] {
        assert!(info.contains(expected), "no {expected:?} in\n{info}");
    }
    // Each file handed out is in the audit trail (the GeoJSON answer is not a file).
    let exports: Vec<(String, String, i64)> = client
        .query(
            "SELECT action, target, (details->>'rows')::bigint FROM onemap.audit \
             WHERE action LIKE 'export.changes.%' ORDER BY seq",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let expected = |kind: &str| (format!("export.changes.{kind}"), "landuse".to_string(), 2);
    assert_eq!(
        exports,
        [expected("csv"), expected("gpkg"), expected("gpkg")]
    );
    // Every feature, attribute and area, as GDAL reads them.
    let out = std::process::Command::new("ogrinfo")
        .args(["-al", "-q"])
        .arg(&path)
        .output()
        .unwrap();
    let all = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "station (String) = 龙首山自然保护站",
        "zone (String) = 实验区",
        "village (String) = 东村",
        "to_class (String) = 0602",
    ] {
        assert!(all.contains(expected), "no {expected:?} in\n{all}");
    }
    let areas: Vec<f64> = all
        .lines()
        .filter_map(|l| l.trim().strip_prefix("area_m2 (Real) = "))
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(areas.len(), 2, "{all}");
    assert_ha(areas[0], 6.0, "GeoPackage ploughed grassland");
    assert_ha(areas[1], 4.0, "GeoPackage mine");
    // The geometry header names the SRS and the extent is that of the two pieces.
    let db = rusqlite::Connection::open(&path).unwrap();
    let (srs_id, blob): (i32, Vec<u8>) = db
        .query_row(
            "SELECT c.srs_id, t.geom FROM gpkg_geometry_columns c, changes t LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(srs_id, 4543);
    assert_eq!(&blob[..4], b"GP\x00\x03");
    assert_eq!(i32::from_le_bytes(blob[4..8].try_into().unwrap()), 4543);
    let bounds: (f64, f64, f64, f64) = db
        .query_row(
            "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = 'changes'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(bounds, (499_900.0, 4_290_000.0, 500_300.0, 4_290_400.0));

    // An ad-hoc zone exports too.
    let (status, _) = post(
        &app,
        "/api/changes?layer=landuse&from=2020&to=2021&format=gpkg",
        &serde_json::json!({"type": "Polygon", "coordinates": [[[101.0, 38.0], [101.1, 38.0], [101.1, 38.1], [101.0, 38.0]]]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    drop(db);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn malformed_zones_are_refused_with_a_clear_400_and_a_self_crossing_one_is_repaired() {
    let (_db, client, app) = world().await;
    let uri = "/api/trends/area?layer=landuse&from=2020&to=2020";
    let square = cells(&client, &rect(0.0, 0.0, 2.0, 2.0)).await;
    for (body, expected) in [
        (String::new(), "the body is empty"),
        ("{\"type\":".to_owned(), "not JSON"),
        (r#"{"type":"Point","coordinates":[101,38]}"#.to_owned(), "a Point is not a zone"),
        (
            r#"{"type":"Polygon","coordinates":[[[101,38],[101.1,38],[101.1,38.1],[101,38.2]]]}"#.to_owned(),
            "ring 0 is not closed",
        ),
        (
            r#"{"type":"Polygon","coordinates":[[[499700,4290000],[499900,4290000],[499900,4290200],[499700,4290000]]]}"#.to_owned(),
            "longitude 499700 is outside",
        ),
        (
            r#"{"type":"Polygon","coordinates":[[[101,38],[101,38],[101,38],[101,38]]]}"#.to_owned(),
            "it has no area",
        ),
        (
            serde_json::json!({"type":"Feature","crs":{"type":"name","properties":{"name":"EPSG:4543"}},"geometry":square}).to_string(),
            "crs \"EPSG:4543\" is not accepted",
        ),
    ] {
        let a = send(&app, Method::POST, uri, Req { body: Some(body.clone()), ..Req::default() }).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.body);
        let message = a.json()["error"].as_str().unwrap().to_owned();
        assert!(message.contains(expected), "{body}: {message}");
        assert!(message.starts_with("ad-hoc zone: "), "{message}");
    }
    // A zone named as well as sent: one or the other.
    let a = send(
        &app,
        Method::POST,
        "/api/trends/transitions?layer=landuse&zone_layer=reserve_zones&zone=1",
        Req {
            body: Some(square.to_string()),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(a.body.contains("replaces zone_layer"), "{}", a.body);
    // Too big: 413 before anything is parsed.
    let huge = format!(
        "{{\"type\":\"Polygon\",\"pad\":\"{}\"}}",
        "x".repeat(1 << 20)
    );
    let a = send(
        &app,
        Method::POST,
        uri,
        Req {
            body: Some(huge),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(a.json()["error"].as_str().unwrap().contains("larger than"));
    // Too many vertices.
    let mut ring: Vec<[f64; 2]> = (0..20_001)
        .map(|i| [101.0 + f64::from(i) * 1e-6, 38.0 + f64::from(i % 2) * 1e-4])
        .collect();
    ring.push([101.0, 38.0]);
    ring.insert(0, [101.0, 38.0]);
    let many = serde_json::json!({"type": "Polygon", "coordinates": [ring]});
    let (status, answer) = post(&app, uri, &many).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("more than 20000 vertices"));

    // A bow-tie (x 0–2 × y 0–2 drawn with crossing diagonals) is repaired into its two
    // triangles of 1 ha each, all forest in 2020, and says so.
    let bow_tie = cells(
        &client,
        &[(0.0, 0.0), (2.0, 0.0), (0.0, 2.0), (2.0, 2.0), (0.0, 0.0)],
    )
    .await;
    let a = send(
        &app,
        Method::POST,
        uri,
        Req {
            body: Some(bow_tie.to_string()),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let repaired = a.headers["x-onemap-zone-repaired"].to_str().unwrap();
    assert!(repaired.contains("Self-intersection"), "{repaired}");
    assert_classes(
        &year(&a.json(), 2020),
        &[("0301", 2.0)],
        "the repaired bow-tie",
    );
}

#[tokio::test]
async fn ad_hoc_reads_need_a_readable_layer_and_a_cookie_session_needs_its_csrf_header() {
    let (db, mut client, app) = world().await;
    let zone = cells(&client, &rect(1.0, 1.0, 5.0, 3.0)).await.to_string();
    let operator = Acting::operator("test");
    users::add(
        &mut client,
        &operator,
        "lin",
        "zrzy",
        Role::Viewer,
        Some("correct horse 1"),
    )
    .await
    .unwrap();
    users::add(
        &mut client,
        &operator,
        "wu",
        "lcj",
        Role::Viewer,
        Some("correct horse 2"),
    )
    .await
    .unwrap();
    client
        .execute(
            "UPDATE onemap.layers SET access_level = 'restricted' WHERE id = 'landuse'",
            &[],
        )
        .await
        .unwrap();
    let config = ServerConfig {
        database_url: db.url.clone(),
        viewer_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../viewer"),
        pool_size: 4,
        tile_cache_mb: 8,
    };
    // A new server: the catalog it loads has the layer restricted.
    drop(app);
    let app = onemap_tile_server::app(AppState::new(&config).await.unwrap());
    let owner = login_session(&app, "lin", "correct horse 1").await;
    let other = login_session(&app, "wu", "correct horse 2").await;
    for path in [
        "/api/trends/area",
        "/api/trends/transitions",
        "/api/changes",
    ] {
        let uri = format!("{path}?layer=landuse&from=2020&to=2021");
        for (who, expected) in [
            (&Credential::Anonymous, StatusCode::NOT_FOUND),
            (&other, StatusCode::NOT_FOUND),
            (&owner, StatusCode::OK),
        ] {
            let (status, body) = call(&app, &Method::POST, &uri, who, Some(&zone)).await;
            assert_eq!(status, expected, "{path} as {who:?}: {body}");
        }
        // The owner's cookie without the CSRF header: refused like any other POST.
        let a = send(
            &app,
            Method::POST,
            &uri,
            Req {
                body: Some(zone.clone()),
                ..owner.req(&Method::POST, false)
            },
        )
        .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}: {}", a.body);
    }
}

#[tokio::test]
async fn sql_injection_probes_in_the_body_and_every_parameter_of_the_ad_hoc_routes_change_nothing()
{
    let (_db, client, app) = world().await;
    let checksum = async |c: &tokio_postgres::Client| -> String {
        c.query_one(include_str!("sql/access_checksum.sql"), &[])
            .await
            .unwrap()
            .get(0)
    };
    let before = checksum(&client).await;
    let zone = cells(&client, &rect(1.0, 1.0, 5.0, 3.0)).await;
    const PROBES: [&str; 6] = [
        "'",
        "' OR '1'='1",
        "1; DROP TABLE onemap.layers; --",
        "landuse'; DELETE FROM onemap.features; --",
        "0 UNION SELECT token_sha256 FROM onemap.tokens --",
        "$1",
    ];
    let mut probes = 0;
    for path in [
        "/api/trends/area",
        "/api/trends/transitions",
        "/api/changes",
    ] {
        for param in [
            "layer",
            "zone_layer",
            "zone",
            "from",
            "to",
            "level",
            "format",
        ] {
            for probe in PROBES {
                let mut q = vec![("layer", "landuse".to_owned())];
                q.retain(|(k, _)| *k != param);
                q.push((param, encode(probe)));
                let query: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let uri = format!("{path}?{}", query.join("&"));
                let (status, body) = post(&app, &uri, &zone).await;
                probes += 1;
                assert!(status.is_client_error(), "{uri}: {status} {body}");
            }
        }
        for probe in PROBES {
            let bodies = [
                serde_json::json!({"type": probe, "coordinates": zone["coordinates"]}),
                serde_json::json!({"type": "Feature", "properties": {"name": probe}, "geometry": {"type": probe}}),
                serde_json::json!({"type": "Polygon", "crs": {"type": "name", "properties": {"name": probe}}, "coordinates": zone["coordinates"]}),
                serde_json::json!({"type": "Polygon", "coordinates": [[[probe, 38], [101, 38], [101, 38.1], [probe, 38]]]}),
                serde_json::json!({"type": "FeatureCollection", "features": [{"type": probe}]}),
            ];
            for body in bodies {
                let (status, answer) = post(
                    &app,
                    &format!("{path}?layer=landuse&from=2020&to=2021"),
                    &body,
                )
                .await;
                probes += 1;
                assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
            }
            // A valid zone whose properties carry the probe is simply answered.
            let feature = serde_json::json!({"type": "Feature", "properties": {"name": probe, probe: probe}, "geometry": zone});
            let (status, answer) = post(
                &app,
                &format!("{path}?layer=landuse&from=2020&to=2021"),
                &feature,
            )
            .await;
            probes += 1;
            assert_eq!(status, StatusCode::OK, "{answer}");
        }
    }
    assert!(probes > 150, "only {probes} probes");
    assert_eq!(
        checksum(&client).await,
        before,
        "data changed after {probes} probes"
    );
}
