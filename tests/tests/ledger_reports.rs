//! The ledger's reports and records against a real PostGIS, on the trend fixtures
//! (tests/fixtures/trends/README.md): the XLSX export read back by the import, a workbook
//! written by openpyxl with broken rows (tests/fixtures/ledger/), half-year and annual
//! summaries checked against hand counts, the editable rule table and its re-assignment of
//! pending clues, and the photos of a clue (storage, type and size checks, who sees them,
//! steps that cite them, their count, ids and URL paths in the exports).

mod helpers;

use std::path::{Path, PathBuf};

use axum::http::{Method, StatusCode};
use helpers::http::{self, Answer, Credential, Req};
use helpers::ledger::{ledger_world, load, lonlat, LedgerWorld};
use helpers::TestDb;
use onemap_access::{Acting, Principal, Role};
use onemap_ledger::{ImportReport, ImportRequest};
use serde_json::{json, Value};

async fn square(client: &tokio_postgres::Client, x0: f64, y0: f64) -> Value {
    let mut ring = Vec::new();
    for (x, y) in [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)] {
        ring.push(lonlat(client, x0 + x, y0 + y).await);
    }
    json!({"type": "Polygon", "coordinates": [ring]})
}

/// Five clues known by hand (areas of the 1 ha squares: 10 000 m²):
///
/// | clue | detected | activity | where | lead |
/// |---|---|---|---|---|
/// | LD-001 | 2024-03-01 | mining, point | core, lsz | zrzy |
/// | SJ-002 | 2024-04-02 | grazing, point | experimental, dhs | nync |
/// | SJ-003 | 2024-05-03 | hydropower, point | outside | sw |
/// | CS-004 | 2024-06-04 | other, 1 ha | core, lsz | lsz |
/// | H2-005 | 2024-08-01 | road, 1 ha | core and experimental, dhs | jtys |
async fn batch(client: &tokio_postgres::Client, dir: &Path) -> PathBuf {
    let point = |c: [f64; 2]| json!({"type": "Point", "coordinates": c});
    let f = |id: &str, source: &str, date: &str, activity: &str, geometry: Value| {
        json!({"type": "Feature", "geometry": geometry, "properties":
            {"clue_id": id, "source": source, "detected_on": date, "activity": activity}})
    };
    let features = vec![
        f(
            "LD-001",
            "national",
            "2024-03-01",
            "mining",
            point(lonlat(client, 2.5, 1.5).await),
        ),
        f(
            "SJ-002",
            "provincial",
            "2024-04-02",
            "grazing",
            point(lonlat(client, 4.5, 3.5).await),
        ),
        f(
            "SJ-003",
            "provincial",
            "2024-05-03",
            "hydropower",
            point(lonlat(client, 8.0, 1.0).await),
        ),
        f(
            "CS-004",
            "city",
            "2024-06-04",
            "other",
            square(client, 0.5, 0.5).await,
        ),
        f(
            "H2-005",
            "national",
            "2024-08-01",
            "road",
            square(client, 3.5, 0.5).await,
        ),
    ];
    let path = dir.join("batch.geojson");
    std::fs::write(
        &path,
        json!({"type": "FeatureCollection", "features": features}).to_string(),
    )
    .unwrap();
    path
}

async fn import(client: &mut tokio_postgres::Client, path: &Path) -> ImportReport {
    onemap_ledger::import::import(
        client,
        &Acting::operator("test"),
        &ImportRequest {
            path: path.to_owned(),
            ..ImportRequest::default()
        },
    )
    .await
    .unwrap()
}

const USERS: &[(&str, &str, Role)] = &[
    ("admin", "sthwb", Role::Admin),
    ("sthwb_editor", "sthwb", Role::Editor),
    ("sthwb_viewer", "sthwb", Role::Viewer),
    ("zrzy_editor", "zrzy", Role::Editor),
    ("zrzy_viewer", "zrzy", Role::Viewer),
    ("lsz_viewer", "lsz", Role::Viewer),
    ("sw_editor", "sw", Role::Editor),
    ("sw_viewer", "sw", Role::Viewer),
];

/// The five clues imported, a server taking photos of up to 1 MiB, and [`USERS`].
async fn world() -> LedgerWorld {
    ledger_world(
        "ledger-reports",
        async |client: &mut tokio_postgres::Client, dir: &Path| {
            let path = batch(client, dir).await;
            let report = import(client, &path).await;
            assert_eq!(report.imported, 5, "{report:#?}");
        },
        USERS,
        Some(1 << 20),
    )
    .await
}

impl LedgerWorld {
    /// Sends `method uri` as `user` (a name in [`USERS`]) or anonymously; gives the status,
    /// the body's bytes and its content type.
    async fn send(
        &self,
        method: Method,
        uri: &str,
        user: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Vec<u8>, String) {
        let who = Credential::from_token(user.map(|u| self.tokens[u].as_str()));
        let a = http::send(
            &self.app,
            method.clone(),
            uri,
            Req {
                body: body.map(|b| b.to_string()),
                ..who.req(&method, true)
            },
        )
        .await;
        content(a)
    }

    async fn json(&self, method: Method, uri: &str, user: &str, body: Option<Value>) -> Value {
        let who = Credential::from_token(Some(&self.tokens[user]));
        let body = body.map(|b| b.to_string());
        let (status, text) = http::call(&self.app, &method, uri, &who, body.as_deref()).await;
        assert!(status.is_success(), "{uri} as {user}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Uploads `bytes` as a photo of `clue` (multipart `photo`, with a hostile file name).
    async fn upload(&self, clue: i64, user: Option<&str>, bytes: &[u8]) -> (StatusCode, Value) {
        let boundary = "onemapboundary7";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"caption\"\r\n\r\n现场照片\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; \
             filename=\"../../etc/passwd\"\r\nContent-Type: image/gif\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let who = Credential::from_token(user.map(|u| self.tokens[u].as_str()));
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let a = http::send(
            &self.app,
            Method::POST,
            &format!("/api/clues/{clue}/photos"),
            Req {
                body_bytes: Some(body),
                content_type: Some(&content_type),
                ..who.req(&Method::POST, true)
            },
        )
        .await;
        let (status, bytes, _) = content(a);
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)));
        (status, value)
    }
}

/// The status, body bytes and content type of an answer.
fn content(a: Answer) -> (StatusCode, Vec<u8>, String) {
    let kind = a
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (a.status, a.bytes, kind)
}

#[tokio::test]
async fn an_xlsx_export_reads_back_as_the_same_clues_and_its_reimport_adds_nothing() {
    let mut w = world().await;
    let (status, bytes, kind) = w
        .send(
            Method::GET,
            "/api/clues/export?format=xlsx",
            Some("sthwb_viewer"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        kind,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(bytes.starts_with(b"PK"), "a zip archive");
    // The export is in the audit trail: who took it and how many clues.
    let entry = w
        .client
        .query_one(
            "SELECT actor, details FROM onemap.audit WHERE action = 'export.clues.xlsx'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(entry.get::<_, String>(0), "sthwb_viewer");
    assert_eq!(entry.get::<_, serde_json::Value>(1)["rows"], 5);
    let path = w.dir.join("export.xlsx");
    std::fs::write(&path, &bytes).unwrap();

    // The same database: every clue is already there.
    let again = import(&mut w.client, &path).await;
    assert_eq!(
        (again.rows, again.imported, again.already_present),
        (5, 0, 5),
        "{again:#?}"
    );
    assert!(again.rejected.is_empty(), "{:#?}", again.rejected);

    // A fresh ledger: the same clues, polygons and all, enriched again.
    let fresh = TestDb::new().await;
    let mut client = load(&fresh).await;
    let report = import(&mut client, &path).await;
    assert_eq!(report.imported, 5, "{report:#?}");
    let operator = Principal::Operator("test".into());
    let before = onemap_ledger::clues::list(&w.client, &operator, &Default::default())
        .await
        .unwrap();
    let after = onemap_ledger::clues::list(&client, &operator, &Default::default())
        .await
        .unwrap();
    let key = |c: &onemap_ledger::Clue| {
        (
            c.clue_id.clone(),
            c.source.clone(),
            c.detected_on.clone(),
            c.activity.clone(),
            c.zones.clone(),
            c.station.clone(),
            c.lead_department.clone(),
        )
    };
    assert_eq!(
        after.iter().map(key).collect::<Vec<_>>(),
        before.iter().map(key).collect::<Vec<_>>()
    );
    // Coordinates travel with 7 decimals (about 1 cm): areas agree to a square metre or two.
    for (a, b) in after.iter().zip(&before) {
        assert!(
            (a.area_m2 - b.area_m2).abs() < 2.0,
            "{}: {} {}",
            a.clue_id,
            a.area_m2,
            b.area_m2
        );
    }
    let road = after.iter().find(|c| c.clue_id == "H2-005").unwrap();
    assert!((road.area_m2 - 10_000.0).abs() < 2.0, "{}", road.area_m2);
    // What the feed delivered beyond the required columns comes along as attributes.
    assert_eq!(road.props["status"], "pending");

    // The CLI-facing writer and the API agree: a department's export holds its clues only.
    let (_, bytes, _) = w
        .send(
            Method::GET,
            "/api/clues/export?format=xlsx",
            Some("sw_viewer"),
            None,
        )
        .await;
    let rows = onemap_ledger::xlsx::read(&bytes).unwrap();
    assert_eq!(rows.len(), 2, "the header and SJ-003");
    assert_eq!(
        rows[1].1[&1],
        onemap_ledger::xlsx::Value::Text("SJ-003".into())
    );
    let (status, _, _) = w
        .send(
            Method::GET,
            "/api/clues/export?format=pdf",
            Some("sw_viewer"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_workbook_written_by_openpyxl_loads_its_good_rows_and_reports_each_broken_one_by_row_number(
) {
    let db = TestDb::new().await;
    let mut client = load(&db).await;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ledger/clues_openpyxl.xlsx");
    let report = import(&mut client, &path).await;
    assert_eq!(report.batch, "clues_openpyxl");
    assert_eq!(report.rows, 10, "11 rows after the header, one empty");
    assert_eq!(report.imported, 3, "{report:#?}");
    let rejected: Vec<(usize, &str)> = report
        .rejected
        .iter()
        .map(|r| (r.row, r.reason.as_str()))
        .collect();
    let expect = [
        (4, "no clue id"),
        (5, "unknown source level \"县级\""),
        (6, "\"2024-02-30\" is not a date"),
        (7, "unknown activity \"钓鱼\""),
        (8, "lon is not a number"),
        (11, "not a longitude and latitude"),
        (12, "the same clue as row 2"),
    ];
    assert_eq!(rejected.len(), expect.len(), "{rejected:#?}");
    for ((row, reason), (want_row, want)) in rejected.iter().zip(expect) {
        assert_eq!(*row, want_row, "{reason}");
        assert!(reason.contains(want), "row {row}: {reason}");
    }
    let all = onemap_ledger::clues::list(
        &client,
        &Principal::Operator("test".into()),
        &Default::default(),
    )
    .await
    .unwrap();
    let got: Vec<(&str, &str, &str, &str)> = all
        .iter()
        .map(|c| {
            (
                c.clue_id.as_str(),
                c.source.as_str(),
                c.detected_on.as_str(),
                c.activity.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("XL-01", "national", "2024-03-01", "mining"),
            ("XL-02", "provincial", "2024-04-02", "grazing"),
            ("XL-08", "city", "2024-06-04", "other"),
        ]
    );
    // Enriched like any other batch: the mine lies in the core zone of station lsz.
    assert_eq!(all[0].station.as_deref(), Some("lsz"));
    assert_eq!(all[0].props["备注"], "核心区内采矿");
    let again = import(&mut client, &path).await;
    assert_eq!((again.imported, again.already_present), (0, 3));
    // A file that is no workbook is refused naming the file.
    let junk = std::env::temp_dir().join(format!("junk-{}.xlsx", std::process::id()));
    std::fs::write(&junk, "clue_id,source\n").unwrap();
    let err = onemap_ledger::import::import(
        &mut client,
        &Acting::operator("test"),
        &ImportRequest {
            path: junk.clone(),
            ..ImportRequest::default()
        },
    )
    .await
    .unwrap_err()
    .to_string();
    let _ = std::fs::remove_file(&junk);
    assert!(
        err.contains("junk-") && err.contains("not an XLSX"),
        "{err}"
    );
}

fn groups(v: &Value, dimension: &str) -> Vec<(String, u64, f64)> {
    v[dimension]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap().to_owned(),
                g["count"].as_u64().unwrap(),
                g["area_m2"].as_f64().unwrap().round(),
            )
        })
        .collect()
}

fn g(key: &str, count: u64, area: f64) -> (String, u64, f64) {
    (key.to_owned(), count, area)
}

#[tokio::test]
async fn half_year_and_annual_summaries_match_the_hand_counts() {
    let w = world().await;
    // One clue moves on: the hydropower clue is verified as a problem.
    let water = w.ids["SJ-003"];
    w.json(
        Method::POST,
        &format!("/api/clues/{water}/transitions"),
        "sw_editor",
        Some(json!({"action": "verify_problem", "notes": "坝体", "date": "2024-05-20"})),
    )
    .await;

    let h1 = w
        .json(
            Method::GET,
            "/api/clues/summary?period=2024H1",
            "sthwb_viewer",
            None,
        )
        .await;
    assert_eq!(h1["period"]["from"], "2024-01-01");
    assert_eq!(h1["period"]["until"], "2024-07-01");
    assert_eq!(
        (h1["count"].as_u64(), h1["area_m2"].as_f64().map(f64::round)),
        (Some(4), Some(10_000.0))
    );
    assert_eq!(
        groups(&h1, "by_zone"),
        [
            g("core", 2, 10_000.0),
            g("experimental", 1, 0.0),
            g("outside", 1, 0.0)
        ]
    );
    assert_eq!(
        groups(&h1, "by_activity"),
        [
            g("mining", 1, 0.0),
            g("hydropower", 1, 0.0),
            g("grazing", 1, 0.0),
            g("other", 1, 10_000.0)
        ]
    );
    assert_eq!(
        groups(&h1, "by_status"),
        [g("pending", 3, 10_000.0), g("verified_problem", 1, 0.0)]
    );
    assert_eq!(
        groups(&h1, "by_department"),
        [
            g("lsz", 1, 10_000.0),
            g("nync", 1, 0.0),
            g("sw", 1, 0.0),
            g("zrzy", 1, 0.0)
        ]
    );

    // The road crosses from the core into the experimental zone: it counts in both.
    let h2 = w
        .json(
            Method::GET,
            "/api/clues/summary?period=2024h2",
            "sthwb_viewer",
            None,
        )
        .await;
    assert_eq!(h2["count"], 1);
    assert_eq!(
        groups(&h2, "by_zone"),
        [g("core", 1, 10_000.0), g("experimental", 1, 10_000.0)]
    );
    assert_eq!(groups(&h2, "by_department"), [g("jtys", 1, 10_000.0)]);

    let year = w
        .json(Method::GET, "/api/clues/summary?period=2024", "admin", None)
        .await;
    assert_eq!(
        (
            year["count"].as_u64(),
            year["area_m2"].as_f64().map(f64::round)
        ),
        (Some(5), Some(20_000.0))
    );
    assert_eq!(
        groups(&year, "by_zone"),
        [
            g("core", 3, 20_000.0),
            g("experimental", 2, 10_000.0),
            g("outside", 1, 0.0)
        ]
    );
    let empty = w
        .json(Method::GET, "/api/clues/summary?period=2025", "admin", None)
        .await;
    assert_eq!(empty["count"], 0);

    // A department's summary holds its own clues only.
    let zrzy = w
        .json(
            Method::GET,
            "/api/clues/summary?period=2024",
            "zrzy_viewer",
            None,
        )
        .await;
    assert_eq!(zrzy["count"], 1);
    assert_eq!(groups(&zrzy, "by_activity"), [g("mining", 1, 0.0)]);

    // CSV and XLSX carry the same rows.
    let (status, bytes, kind) = w
        .send(
            Method::GET,
            "/api/clues/summary?period=2024H1&format=csv",
            Some("sthwb_viewer"),
            None,
        )
        .await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::OK, "text/csv; charset=utf-8")
    );
    let csv = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "dimension,key,count,area_m2");
    assert_eq!(lines[1], "total,2024H1,4,10000.0");
    assert!(lines.contains(&"zone,core,2,10000.0"), "{csv}");
    assert!(lines.contains(&"status,verified_problem,1,0.0"), "{csv}");
    assert_eq!(lines.len(), 1 + 1 + 3 + 4 + 2 + 4);
    let (_, bytes, _) = w
        .send(
            Method::GET,
            "/api/clues/summary?period=2024H1&format=xlsx",
            Some("sthwb_viewer"),
            None,
        )
        .await;
    let rows = onemap_ledger::xlsx::read(&bytes).unwrap();
    assert_eq!(rows.len(), lines.len());
    let audited: Vec<String> = w
        .client
        .query(
            "SELECT action FROM onemap.audit WHERE action LIKE 'export.clues_summary.%' \
             AND details->>'period' = '2024H1' ORDER BY seq",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        audited,
        ["export.clues_summary.csv", "export.clues_summary.xlsx"]
    );
    use onemap_ledger::xlsx::Value as X;
    assert_eq!(rows[1].1[&0], X::Text("total".into()));
    assert_eq!(rows[1].1[&2], X::Number(4.0));

    for bad in ["2024H3", "24", "2024Q1"] {
        let (status, _, _) = w
            .send(
                Method::GET,
                &format!("/api/clues/summary?period={bad}"),
                Some("admin"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (status, _, _) = w
        .send(Method::GET, "/api/clues/summary?period=2024", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_rules_are_read_by_signed_in_users_changed_by_the_coordinating_office_and_a_change_reassigns_the_pending_clues(
) {
    let w = world().await;
    let read = w
        .json(Method::GET, "/api/clues/rules", "zrzy_viewer", None)
        .await;
    assert_eq!(read["editable"], false);
    let mut rules: Vec<Value> = read["rules"].as_array().unwrap().clone();
    assert_eq!(rules.len(), 9);
    let (status, _, _) = w.send(Method::GET, "/api/clues/rules", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The hydropower clue is verified first: its departments are settled.
    let water = w.ids["SJ-003"];
    w.json(
        Method::POST,
        &format!("/api/clues/{water}/transitions"),
        "sw_editor",
        Some(json!({"action": "verify_problem", "notes": "坝体", "date": "2024-05-20"})),
    )
    .await;

    // Mining now led by forestry; hydropower by natural resources.
    for r in rules.iter_mut() {
        match r["activity"].as_str() {
            Some("mining") => r["lead"] = json!("lcj"),
            Some("hydropower") => r["lead"] = json!("zrzy"),
            _ => {}
        }
    }
    let body = json!({ "rules": rules });
    for (user, expected) in [
        ("zrzy_editor", StatusCode::FORBIDDEN),
        ("sthwb_viewer", StatusCode::FORBIDDEN),
    ] {
        let (status, _, _) = w
            .send(
                Method::PUT,
                "/api/clues/rules",
                Some(user),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, expected, "{user}");
    }
    let (status, _, _) = w
        .send(Method::PUT, "/api/clues/rules", None, Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // An unknown department is refused and nothing changes.
    let mut bad = rules.clone();
    bad[0]["responsible"] = json!(["nosuch"]);
    let (status, bytes, _) = w
        .send(
            Method::PUT,
            "/api/clues/rules",
            Some("sthwb_editor"),
            Some(json!({ "rules": bad })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&bytes).contains("nosuch"));

    let change = w
        .json(Method::PUT, "/api/clues/rules", "sthwb_editor", Some(body))
        .await;
    assert_eq!(change["reassigned_pending"], 4);
    let seq = change["audit_seq"].as_i64().unwrap();
    let action: String = w
        .client
        .query_one("SELECT action FROM onemap.audit WHERE seq = $1", &[&seq])
        .await
        .unwrap()
        .get(0);
    assert_eq!(action, "ledger.rules");

    let mine = w
        .json(
            Method::GET,
            &format!("/api/clues/{}", w.ids["LD-001"]),
            "admin",
            None,
        )
        .await;
    assert_eq!(mine["suggested_lead"], "lcj");
    assert_eq!(mine["lead_department"], "lcj", "pending: re-assigned");
    let water = w
        .json(Method::GET, &format!("/api/clues/{water}"), "admin", None)
        .await;
    assert_eq!(water["suggested_lead"], "zrzy");
    assert_eq!(water["lead_department"], "sw", "verified: kept");
    // Natural resources no longer sees the mine; forestry now does.
    let (status, _, _) = w
        .send(
            Method::GET,
            &format!("/api/clues/{}", w.ids["LD-001"]),
            Some("zrzy_viewer"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The CLI's single-rule edits: add, change, delete, each re-suggesting.
    let mut client = w.db.client().await;
    let op = Acting::operator("test");
    let added = onemap_ledger::rules::set(
        &mut client,
        &op,
        &onemap_ledger::rules::Rule {
            id: None,
            activity: "road".into(),
            in_reserve_only: true,
            lead: Some("station".into()),
            responsible: vec!["lcj".into()],
            note: "roads in the reserve".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(added.rules.len(), 10);
    let id = added.rules.last().unwrap().id.unwrap();
    // The road in the reserve: the older rule for roads still leads (jtys); forestry joins
    // the station as responsible, and leaves again with the rule.
    let operator = Principal::Operator("t".into());
    let road = w.ids["H2-005"];
    let now = onemap_ledger::clues::get(&client, &operator, road)
        .await
        .unwrap();
    assert_eq!(now.lead_department.as_deref(), Some("jtys"));
    assert_eq!(now.responsible_departments, ["dhs", "lcj"]);
    let deleted = onemap_ledger::rules::delete(&mut client, &op, id)
        .await
        .unwrap();
    assert_eq!(deleted.rules.len(), 9);
    let now = onemap_ledger::clues::get(&client, &operator, road)
        .await
        .unwrap();
    assert_eq!(now.responsible_departments, ["dhs"]);
    let missing = onemap_ledger::rules::delete(&mut client, &op, id).await;
    assert!(missing.unwrap_err().to_string().contains("no rule"));
    let refused = onemap_ledger::rules::replace(
        &mut client,
        &Acting::new(
            Principal::User(onemap_access::User {
                id: 99,
                name: "x".into(),
                department: "zrzy".into(),
                role: Role::Editor,
            }),
            None,
        ),
        &[],
    )
    .await;
    assert!(matches!(
        refused,
        Err(onemap_ledger::LedgerError::Forbidden(_))
    ));
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82";

#[tokio::test]
async fn photos_are_stored_by_content_checked_for_type_and_size_shown_to_who_sees_the_clue_and_cited_by_steps(
) {
    let w = world().await;
    let mine = w.ids["LD-001"];
    let (status, photo) = w.upload(mine, Some("zrzy_editor"), PNG).await;
    assert_eq!(status, StatusCode::CREATED, "{photo}");
    assert_eq!(photo["media_type"], "image/png");
    assert_eq!(photo["caption"], "现场照片");
    assert_eq!(photo["uploaded_by"], "zrzy_editor");
    let sha = photo["sha256"].as_str().unwrap();
    // Stored under the server's folder by its hash, never by the name the client sent.
    let stored = w
        .dir
        .join("uploads/clue-photos")
        .join(&sha[..2])
        .join(format!("{sha}.png"));
    assert_eq!(std::fs::read(&stored).unwrap(), PNG);
    assert!(!w.dir.join("etc").exists());
    let id = photo["id"].as_i64().unwrap();
    // The same picture again is the same photo.
    let (status, again) = w.upload(mine, Some("zrzy_editor"), PNG).await;
    assert_eq!(
        (status, again["id"].as_i64()),
        (StatusCode::CREATED, Some(id))
    );

    // Type by the first bytes, size limit, and who may upload.
    let (status, text) = w.upload(mine, Some("zrzy_editor"), b"GIF89a\x01\x00").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.to_string().contains("JPEG, PNG or WebP"), "{text}");
    let mut big = vec![0xFF, 0xD8, 0xFF, 0xE0];
    big.resize(onemap_ledger::photos::MAX_PHOTO_BYTES + 1, 0);
    let (status, text) = w.upload(mine, Some("zrzy_editor"), &big).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    for (user, expected) in [
        (Some("zrzy_viewer"), StatusCode::FORBIDDEN),
        (Some("sw_editor"), StatusCode::NOT_FOUND),
        (None, StatusCode::NOT_FOUND),
    ] {
        let (status, text) = w.upload(mine, user, PNG).await;
        assert_eq!(status, expected, "{user:?}: {text}");
    }

    // Who sees the clue sees the photo; everyone else gets 404, as for a photo of another clue.
    let uri = format!("/api/clues/{mine}/photos/{id}");
    for user in ["zrzy_viewer", "lsz_viewer", "sthwb_viewer", "admin"] {
        let (status, bytes, kind) = w.send(Method::GET, &uri, Some(user), None).await;
        assert_eq!(
            (status, kind.as_str()),
            (StatusCode::OK, "image/png"),
            "{user}"
        );
        assert_eq!(bytes, PNG);
    }
    for user in [Some("sw_viewer"), None] {
        let (status, _, _) = w.send(Method::GET, &uri, user, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{user:?}");
    }
    let water = w.ids["SJ-003"];
    let (status, _, _) = w
        .send(
            Method::GET,
            &format!("/api/clues/{water}/photos/{id}"),
            Some("admin"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Listed on the clue, cited by the verification, audited on upload.
    let clue = w
        .json(
            Method::GET,
            &format!("/api/clues/{mine}"),
            "zrzy_viewer",
            None,
        )
        .await;
    assert_eq!(clue["photos"].as_array().unwrap().len(), 1);
    let (status, bytes, _) = w
        .send(
            Method::POST,
            &format!("/api/clues/{mine}/transitions"),
            Some("zrzy_editor"),
            Some(json!({"action": "verify_problem", "notes": "采坑", "date": "2024-03-10", "photos": [id + 100]})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    w.json(
        Method::POST,
        &format!("/api/clues/{mine}/transitions"),
        "zrzy_editor",
        Some(json!({"action": "verify_problem", "notes": "采坑", "date": "2024-03-10", "photos": [id]})),
    )
    .await;
    let clue = w
        .json(
            Method::GET,
            &format!("/api/clues/{mine}"),
            "zrzy_viewer",
            None,
        )
        .await;
    assert_eq!(clue["history"][0]["details"]["photos"], json!([id]));
    let audited: i64 = w
        .client
        .query_one(
            "SELECT count(*) FROM onemap.audit WHERE action = 'clue.photo' AND target = $1",
            &[&format!("clue:{mine}")],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 2, "each accepted upload");
    // Photos are not taken where the workflow step has nothing to prove.
    let (status, _, _) = w
        .send(
            Method::POST,
            &format!("/api/clues/{mine}/transitions"),
            Some("zrzy_editor"),
            Some(json!({"action": "start_rectification", "measures": "回填", "deadline": "2024-12-31", "lead": "zrzy", "photos": [id]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// Parses CSV text (RFC 4180 quoting) into records.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = vec![];
    let (mut record, mut field, mut quoted) = (vec![], String::new(), false);
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => record.push(std::mem::take(&mut field)),
            ('\n', false) => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            ('\r', false) => {}
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

#[tokio::test]
async fn the_csv_and_xlsx_exports_give_each_clue_its_photo_count_ids_and_fetchable_url_paths() {
    let w = world().await;
    let mine = w.ids["LD-001"];
    let (status, png) = w.upload(mine, Some("zrzy_editor"), PNG).await;
    assert_eq!(status, StatusCode::CREATED, "{png}");
    let jpeg: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xFF\xD9";
    let (status, jpg) = w.upload(mine, Some("zrzy_editor"), jpeg).await;
    assert_eq!(status, StatusCode::CREATED, "{jpg}");
    let ids = [png["id"].as_i64().unwrap(), jpg["id"].as_i64().unwrap()];
    let urls: Vec<String> = ids
        .iter()
        .map(|p| format!("/api/clues/{mine}/photos/{p}"))
        .collect();

    let (status, bytes, _) = w
        .send(
            Method::GET,
            "/api/clues/export?format=csv",
            Some("sthwb_viewer"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let records = parse_csv(&String::from_utf8(bytes).unwrap());
    let header = &records[0];
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (count, id_col, url_col) = (
        column("photo_count"),
        column("photo_ids"),
        column("photo_urls"),
    );
    assert_eq!(records.len(), 1 + w.ids.len());
    for record in &records[1..] {
        assert_eq!(record.len(), header.len(), "{record:?}");
        if record[column("id")] == mine.to_string() {
            assert_eq!(record[count], "2");
            assert_eq!(record[id_col], format!("{};{}", ids[0], ids[1]));
            assert_eq!(record[url_col], urls.join(";"));
        } else {
            assert_eq!(
                (&*record[count], &*record[id_col], &*record[url_col]),
                ("0", "", ""),
                "{record:?}"
            );
        }
    }
    // The paths are the photos, for whoever may see the clue.
    for (url, body) in urls.iter().zip([PNG, jpeg]) {
        let (status, got, kind) = w.send(Method::GET, url, Some("sthwb_viewer"), None).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        assert!(kind.starts_with("image/"), "{kind}");
        assert_eq!(got, body);
    }

    let (status, bytes, _) = w
        .send(
            Method::GET,
            "/api/clues/export?format=xlsx",
            Some("sthwb_viewer"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let rows = onemap_ledger::xlsx::read(&bytes).unwrap();
    let header: Vec<String> = rows[0].1.values().map(|v| v.to_text()).collect();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = rows[1..]
        .iter()
        .map(|(_, cells)| cells)
        .find(|cells| cells.get(&column("id")).map(|v| v.to_text()) == Some(mine.to_string()))
        .unwrap();
    assert_eq!(
        row.get(&column("photo_count")),
        Some(&onemap_ledger::xlsx::Value::Number(2.0))
    );
    assert_eq!(
        row.get(&column("photo_urls")).map(|v| v.to_text()),
        Some(urls.join(";"))
    );
}
