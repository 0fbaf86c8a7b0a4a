//! Enforcement planning against a real PostGIS, on the hand-checkable trend fixtures
//! (tests/fixtures/trends/README.md): which change is flagged in which reserve zone, how a rule
//! edit changes that and lands in the audit trail, hotspot rankings whose sums equal the
//! flagged area, the task list and its CSV, and the change-parcel tiles.

mod helpers;

use std::path::Path;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use geozero::mvt::{Message, Tile};
use helpers::TestDb;
use http_body_util::BodyExt;
use onemap_access::{tokens, users, Acting, Role};
use onemap_enforcement::rules::{self, TransitionRule};
use onemap_enforcement::{EnforcementQuery, HotspotBy};
use onemap_schemas::authz::Principal;
use onemap_schemas::catalog::Catalog;
use onemap_tile_server::{app, AppState, ServerConfig};
use serde_json::Value;
use tower::ServiceExt;

const HA: f64 = 10_000.0;

/// The zoning and survey fixtures, with the land use as `landuse`, precomputed.
async fn load(db: &TestDb) -> tokio_postgres::Client {
    helpers::survey_fixtures::load_zoning_and_surveys(db, "landuse").await
}

fn assert_ha(actual: f64, expected_ha: f64, what: &str) {
    let expected = expected_ha * HA;
    assert!(
        (actual - expected).abs() <= 1e-6 * expected.max(HA),
        "{what}: {actual} m² is not {expected} m²"
    );
}

async fn flagged(
    client: &mut tokio_postgres::Client,
    from: i32,
    to: i32,
) -> onemap_enforcement::Flagged {
    let catalog = Catalog::load(&*client).await.unwrap();
    let who = Principal::Anonymous;
    let q = EnforcementQuery {
        layer: catalog.layer(&who, "landuse").unwrap(),
        zone_layer: catalog.layer(&who, "reserve_zones"),
        station_layer: catalog.layer(&who, "station_jurisdictions"),
        village_layer: catalog.layer(&who, "villages"),
        from: Some(from),
        to: Some(to),
    };
    onemap_enforcement::flagged(client, &q).await.unwrap()
}

fn rule(from: &str, to: &str, trend: &str, kinds: &[&str]) -> TransitionRule {
    TransitionRule {
        from_class: from.into(),
        to_class: to.into(),
        trend: trend.into(),
        prohibited_in: kinds.iter().map(|k| k.to_string()).collect(),
        note: String::new(),
    }
}

#[tokio::test]
async fn a_mine_and_ploughed_grassland_in_the_core_zone_are_flagged_and_the_same_ploughing_in_the_experimental_zone_is_not(
) {
    let db = TestDb::new().await;
    let mut client = load(&db).await;
    let f = flagged(&mut client, 2020, 2021).await;
    assert_eq!((f.from, f.to), (2020, 2021));
    assert_eq!(f.pieces.len(), 2, "{:#?}", f.pieces);

    let mine = &f.pieces[0];
    assert_eq!(
        (mine.from_class.as_str(), mine.to_class.as_str()),
        ("0301", "0602")
    );
    assert_ha(mine.area_m2, 4.0, "the mine");
    assert_eq!(mine.trend, "degradation");
    assert_eq!(mine.zone_kind, "core");
    assert_eq!(mine.zone_name.as_deref(), Some("核心区"));
    assert_eq!(mine.station_code.as_deref(), Some("lsz"));
    assert_eq!(mine.village_name.as_deref(), Some("西村"));
    assert_eq!(mine.since, 2021);

    // Only the 2 ha west of x = 4 lie in the core zone; the 4 ha east of it are experimental.
    let ploughed = &f.pieces[1];
    assert_eq!(
        (ploughed.from_class.as_str(), ploughed.to_class.as_str()),
        ("0401", "0103")
    );
    assert_ha(
        ploughed.area_m2,
        2.0,
        "the ploughed grassland in the core zone",
    );
    assert_eq!(ploughed.zone_kind, "core");
    assert_eq!(ploughed.station_code.as_deref(), Some("dhs"));
    assert_eq!(ploughed.village_code.as_deref(), Some("620725100002"));
    // A point inside the piece: x 3–4, y 2–4 cells, i.e. E 500 000–500 100.
    assert!(ploughed.easting > 500_000.0 && ploughed.easting < 500_100.0);
    assert!(ploughed.northing > 4_290_200.0 && ploughed.northing < 4_290_400.0);
    assert!((ploughed.lon - 102.0).abs() < 0.01 && (ploughed.lat - 38.75).abs() < 0.1);

    // Over two years the mine was half restored; both changes date from 2021.
    let f = flagged(&mut client, 2020, 2022).await;
    assert_eq!(f.pieces.len(), 2, "{:#?}", f.pieces);
    for p in &f.pieces {
        assert_ha(p.area_m2, 2.0, "2020→2022 piece");
        assert_eq!(p.since, 2021, "{p:?}");
        assert_eq!(p.zone_kind, "core");
    }
}

#[tokio::test]
async fn a_rule_edit_changes_what_is_flagged_and_is_recorded_in_the_audit_trail() {
    let db = TestDb::new().await;
    let mut client = load(&db).await;

    // A viewer, and an editor of another department, may not.
    let viewer = Acting::new(
        Principal::User(onemap_schemas::authz::User {
            id: 1,
            name: "v".into(),
            department: "sthwb".into(),
            role: Role::Viewer,
        }),
        None,
    );
    let forestry_editor = Acting::new(
        Principal::User(onemap_schemas::authz::User {
            id: 2,
            name: "f".into(),
            department: "lcj".into(),
            role: Role::Editor,
        }),
        None,
    );
    for who in [&viewer, &forestry_editor] {
        let err = rules::set(&mut client, who, rule("04", "01", "degradation", &[]))
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            onemap_enforcement::EnforcementError::Forbidden(_)
        ));
    }

    // The coordinating office's editor prohibits ploughing in the experimental zone too.
    let office = Acting::new(
        Principal::User(onemap_schemas::authz::User {
            id: 3,
            name: "office_editor".into(),
            department: "sthwb".into(),
            role: Role::Editor,
        }),
        Some("192.0.2.7".into()),
    );
    let seq = rules::set(
        &mut client,
        &office,
        rule(
            "04",
            "01",
            "degradation",
            &["experimental", "core", "buffer"],
        ),
    )
    .await
    .unwrap();
    let f = flagged(&mut client, 2020, 2021).await;
    let total: f64 = f.pieces.iter().map(|p| p.area_m2).sum();
    assert_ha(total, 10.0, "flagged after the edit");
    assert_eq!(f.pieces.len(), 3);

    // A more specific rule wins: mining (0602) out of forest is no longer flagged.
    rules::set(
        &mut client,
        &Acting::operator("test"),
        rule("0301", "0602", "degradation", &[]),
    )
    .await
    .unwrap();
    let f = flagged(&mut client, 2020, 2021).await;
    assert!(f.pieces.iter().all(|p| p.to_class == "0103"));
    assert_ha(
        f.pieces.iter().map(|p| p.area_m2).sum(),
        6.0,
        "only the ploughing",
    );

    let entry = client
        .query_one(
            "SELECT actor, actor_department, client_addr, action, target, details::text
             FROM onemap.audit WHERE seq = $1",
            &[&seq],
        )
        .await
        .unwrap();
    assert_eq!(entry.get::<_, String>(0), "office_editor");
    assert_eq!(entry.get::<_, Option<String>>(1).as_deref(), Some("sthwb"));
    assert_eq!(
        entry.get::<_, Option<String>>(2).as_deref(),
        Some("192.0.2.7")
    );
    assert_eq!(entry.get::<_, String>(3), "rules.set");
    assert_eq!(
        entry.get::<_, Option<String>>(4).as_deref(),
        Some("04 → 01")
    );
    let details: Value = serde_json::from_str(&entry.get::<_, String>(5)).unwrap();
    assert_eq!(
        details["from"]["prohibited_in"],
        serde_json::json!(["core", "buffer"])
    );
    assert_eq!(
        details["to"]["prohibited_in"],
        serde_json::json!(["core", "buffer", "experimental"])
    );
    assert!(onemap_access::audit::verify(&client).await.unwrap().ok());

    // Reset brings the defaults back: 6 ha again, mine included.
    rules::reset(&mut client, &Acting::operator("test"))
        .await
        .unwrap();
    let f = flagged(&mut client, 2020, 2021).await;
    assert_ha(f.pieces.iter().map(|p| p.area_m2).sum(), 6.0, "after reset");
    assert_eq!(f.pieces.len(), 2);
    assert_eq!(f.pieces[0].to_class, "0602");
}

#[tokio::test]
async fn hotspots_rank_by_zone_station_village_and_grid_and_each_ranking_sums_to_the_flagged_area()
{
    let db = TestDb::new().await;
    let mut client = load(&db).await;
    let f = flagged(&mut client, 2020, 2021).await;
    let total: f64 = f.pieces.iter().map(|p| p.area_m2).sum();
    assert_ha(total, 6.0, "flagged");

    let expect = |by, cell: f64, keys: &[(&str, f64)]| {
        let h = onemap_enforcement::hotspots(&f, by, cell);
        let got: Vec<&str> = h.hotspots.iter().map(|h| h.key.as_str()).collect();
        let want: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
        assert_eq!(got, want, "{by:?}");
        for (spot, (_, ha)) in h.hotspots.iter().zip(keys) {
            assert_ha(spot.area_m2, *ha, &format!("{by:?} {}", spot.key));
        }
        let sum: f64 = h.hotspots.iter().map(|h| h.area_m2).sum();
        assert!((sum - total).abs() < 1e-6 && (h.flagged_m2 - total).abs() < 1e-6);
        assert_eq!(
            h.hotspots.iter().map(|h| h.rank).collect::<Vec<_>>(),
            (1..=keys.len()).collect::<Vec<_>>()
        );
        h
    };
    let zones = expect(HotspotBy::Zone, 5000.0, &[("1", 6.0)]);
    assert_eq!(zones.hotspots[0].name.as_deref(), Some("核心区"));
    assert_eq!(zones.hotspots[0].count, 2);
    expect(HotspotBy::Station, 5000.0, &[("lsz", 4.0), ("dhs", 2.0)]);
    expect(
        HotspotBy::Village,
        5000.0,
        &[("620725100001", 4.0), ("620725100002", 2.0)],
    );
    // The block straddles the 5 km cell border at E = 500 000 (the central meridian).
    let grid = expect(
        HotspotBy::Grid,
        5000.0,
        &[("495000_4290000", 4.0), ("500000_4290000", 2.0)],
    );
    assert_eq!(grid.cell_m, Some(5000.0));
    assert_eq!(
        grid.hotspots[0].cell,
        Some([495000.0, 4290000.0, 500000.0, 4295000.0])
    );
    expect(
        HotspotBy::Grid,
        200.0,
        &[("499800_4290200", 4.0), ("500000_4290200", 2.0)],
    );
}

async fn server(db: &TestDb) -> Router {
    let config = ServerConfig {
        database_url: db.url.clone(),
        viewer_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../viewer"),
        pool_size: 4,
        tile_cache_mb: 16,
    };
    app(AppState::new(&config).await.unwrap())
}

async fn send(
    app: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (StatusCode, String, Vec<u8>) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "onemap.test");
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let response = app
        .clone()
        .oneshot(
            request
                .body(body.map_or_else(Body::empty, Body::from))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, content_type, bytes)
}

#[tokio::test]
async fn the_api_serves_rules_hotspots_tasks_as_csv_and_change_tiles_and_hides_what_the_caller_cannot_see(
) {
    let db = TestDb::new().await;
    let mut client = load(&db).await;
    let operator = Acting::operator("test");
    users::add(
        &mut client,
        &operator,
        "office",
        "sthwb",
        Role::Editor,
        None,
    )
    .await
    .unwrap();
    users::add(&mut client, &operator, "ranger", "lsz", Role::Editor, None)
        .await
        .unwrap();
    let (_, office) = tokens::create(&mut client, &operator, "office", "t")
        .await
        .unwrap();
    let (_, ranger) = tokens::create(&mut client, &operator, "ranger", "t")
        .await
        .unwrap();
    let app = server(&db).await;

    // The rules: readable by anyone; replaced by the office's editor only, audited.
    let (status, _, body) = send(&app, Method::GET, "/api/enforcement/rules", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    let mut list: Vec<Value> = v["rules"].as_array().unwrap().clone();
    assert_eq!(list.len(), 81);
    assert_eq!(list.last().unwrap()["from_class"], "*");
    list.push(serde_json::json!({
        "from_class": "0103", "to_class": "0602", "trend": "degradation",
        "prohibited_in": ["experimental"], "note": "test"
    }));
    let body = serde_json::json!({ "rules": list }).to_string();
    for (token, expected) in [
        (None, StatusCode::FORBIDDEN),
        (Some(&ranger), StatusCode::FORBIDDEN),
    ] {
        let (status, _, _) = send(
            &app,
            Method::PUT,
            "/api/enforcement/rules",
            token.map(String::as_str),
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, expected);
    }
    let (status, _, answer) = send(
        &app,
        Method::PUT,
        "/api/enforcement/rules",
        Some(&office),
        Some(body),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["rules"].as_array().unwrap().len(), 82);
    let action: String = client
        .query_one(
            "SELECT action FROM onemap.audit WHERE seq = $1 AND actor = 'office'",
            &[&answer["audit_seq"].as_i64().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(action, "rules.replace");
    let bad = serde_json::json!({ "rules": [{ "from_class": "04'", "to_class": "01", "trend": "stable" }] });
    let (status, _, _) = send(
        &app,
        Method::PUT,
        "/api/enforcement/rules",
        Some(&office),
        Some(bad.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Hotspots by station, largest first.
    let (status, _, body) = send(
        &app,
        Method::GET,
        "/api/enforcement/hotspots?layer=landuse&from=2020&to=2021&by=station",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["by"], "station");
    assert_eq!(v["unit"], "m2");
    let spots = v["hotspots"].as_array().unwrap();
    assert_eq!(spots[0]["key"], "lsz");
    assert_ha(spots[0]["area_m2"].as_f64().unwrap(), 4.0, "lsz");
    assert_eq!(spots[1]["key"], "dhs");
    assert_ha(v["flagged_m2"].as_f64().unwrap(), 6.0, "API flagged");

    // Tasks as CSV: the columns, one row per flagged piece, grouped by station.
    let (status, content_type, body) = send(
        &app,
        Method::GET,
        "/api/enforcement/tasks?layer=landuse&from=2020&to=2021&format=csv",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let text = String::from_utf8(body).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "responsible,station,from_year,to_year,since,from_class,to_class,trend,zone_kind,\
         zone_name,village_code,village_name,lon,lat,area_m2,from_fid,to_fid"
    );
    assert_eq!(lines.len(), 3, "{text}");
    let dhs: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(
        &dhs[..12],
        &[
            "dhs",
            "大黄山自然保护站",
            "2020",
            "2021",
            "2021",
            "0401",
            "0103",
            "degradation",
            "core",
            "核心区",
            "620725100002",
            "东村"
        ]
    );
    assert_eq!(dhs[14], "20000.00");
    let lsz: Vec<&str> = lines[2].split(',').collect();
    assert_eq!(&lsz[..2], &["lsz", "龙首山自然保护站"]);
    assert_eq!(lsz[14], "40000.00");
    let (status, _, body) = send(
        &app,
        Method::GET,
        "/api/enforcement/tasks?layer=landuse&from=2020&to=2021&responsible=lsz",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(v["tasks"][0]["to_class"], "0602");

    // The change tile at z12 holding the block (at z13 and z14 it straddles a tile border): three pieces (the mine, and the ploughed
    // grassland split at the core zone's border), only the core part of the ploughing flagged.
    let (x, y) = tile_of(102.0, 38.745, 12);
    let (status, content_type, body) = send(
        &app,
        Method::GET,
        &format!("/tiles/changes/12/{x}/{y}?layer=landuse&from=2020&to=2021"),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(content_type, "application/vnd.mapbox-vector-tile");
    let tile = Tile::decode(body.as_slice()).unwrap();
    assert_eq!(tile.layers.len(), 1);
    let layer = &tile.layers[0];
    assert_eq!(layer.name, "changes");
    let mut features: Vec<(String, String, String, bool)> = layer
        .features
        .iter()
        .map(|f| {
            let mut from = String::new();
            let mut to = String::new();
            let mut zone = String::new();
            let mut flagged = None;
            for pair in f.tags.chunks(2) {
                let key = layer.keys[pair[0] as usize].as_str();
                let value = &layer.values[pair[1] as usize];
                match key {
                    "from_class" => from = value.string_value.clone().unwrap(),
                    "to_class" => to = value.string_value.clone().unwrap(),
                    "zone" => zone = value.string_value.clone().unwrap(),
                    "flagged" => flagged = value.bool_value,
                    _ => {}
                }
            }
            (from, to, zone, flagged.unwrap())
        })
        .collect();
    features.sort();
    assert_eq!(
        features,
        [
            ("0301".into(), "0602".into(), "core".into(), true),
            ("0401".into(), "0103".into(), "core".into(), true),
            ("0401".into(), "0103".into(), "experimental".into(), false),
        ]
    );
    assert!(layer.keys.iter().any(|k| k == "area_m2"));
    // A tile far away: no content.
    let (status, _, _) = send(
        &app,
        Method::GET,
        "/tiles/changes/14/0/0?layer=landuse&from=2020&to=2021",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Mistakes are 400s, and a layer the caller cannot see is a 404 on every route.
    for uri in [
        "/api/enforcement/hotspots?layer=landuse&by=parish",
        "/api/enforcement/hotspots?layer=villages",
        "/api/enforcement/tasks?layer=landuse&format=xml",
        "/api/enforcement/hotspots?layer=landuse&zone_layer=villages",
    ] {
        assert_eq!(
            send(&app, Method::GET, uri, None, None).await.0,
            StatusCode::BAD_REQUEST,
            "{uri}"
        );
    }
    client
        .execute(
            "UPDATE onemap.layers SET access_level = 'restricted' WHERE id = 'reserve_zones'",
            &[],
        )
        .await
        .unwrap();
    let app = server(&db).await;
    // Named: a 404. By default: left out, and said so; without zones nothing is flagged.
    for uri in [
        "/api/enforcement/hotspots?layer=landuse&zone_layer=reserve_zones",
        "/api/enforcement/tasks?layer=landuse&zone_layer=reserve_zones",
        "/tiles/changes/12/0/0?layer=landuse&zone_layer=reserve_zones",
    ] {
        assert_eq!(
            send(&app, Method::GET, uri, None, None).await.0,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    let (status, _, body) = send(
        &app,
        Method::GET,
        "/api/enforcement/hotspots?layer=landuse&from=2020&to=2021",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["zone_layer"], Value::Null);
    assert_eq!(v["flagged_m2"], 0.0);
    // The forestry bureau owns the zones and sees them.
    users::add(
        &mut client,
        &operator,
        "forester",
        "lcj",
        Role::Viewer,
        None,
    )
    .await
    .unwrap();
    let (_, forester) = tokens::create(&mut client, &operator, "forester", "t")
        .await
        .unwrap();
    let (status, _, body) = send(
        &app,
        Method::GET,
        "/api/enforcement/hotspots?layer=landuse&from=2020&to=2021",
        Some(&forester),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["zone_layer"], "reserve_zones");
    assert_ha(
        v["flagged_m2"].as_f64().unwrap(),
        6.0,
        "the forester's flagged area",
    );
    client
        .execute(
            "UPDATE onemap.layers SET access_level = 'restricted' WHERE id = 'landuse'",
            &[],
        )
        .await
        .unwrap();
    let app = server(&db).await;
    for uri in [
        "/api/enforcement/tasks?layer=landuse",
        &format!("/tiles/changes/12/{x}/{y}?layer=landuse"),
    ] {
        assert_eq!(
            send(&app, Method::GET, uri, None, None).await.0,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
}

/// The z/x/y of the tile holding lon/lat.
fn tile_of(lon: f64, lat: f64, z: u32) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let lat = lat.to_radians();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor()
        as u32;
    (x, y)
}
