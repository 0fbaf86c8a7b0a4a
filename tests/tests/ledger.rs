//! The rectification ledger against a real PostGIS, on the hand-checkable trend fixtures
//! (tests/fixtures/trends/README.md) loaded as `dltb`, `reserve_zones`,
//! `station_jurisdictions` and `villages`: a clue batch with broken rows, its re-import, the
//! enrichment of each clue, what each department sees through the API, the workflow steps
//! through the API with their audit entries, the overdue list and the CSV export.

mod helpers;

use std::path::{Path, PathBuf};

use axum::http::{Method, StatusCode};
use helpers::http::{call, Credential};
use helpers::ledger::{ledger_world, load, lonlat, LedgerWorld};
use helpers::{temp_dir, TestDb};
use onemap_access::{Acting, Role};
use onemap_ledger::{ImportReport, ImportRequest};
use serde_json::{json, Value};

fn feature(props: Value, geometry: Value) -> Value {
    json!({"type": "Feature", "properties": props, "geometry": geometry})
}

/// The batch: four good clues (rows 1–4) and six broken rows (5–10).
async fn batch_file(client: &tokio_postgres::Client, dir: &Path) -> PathBuf {
    let point = |c: [f64; 2]| json!({"type": "Point", "coordinates": c});
    let a = lonlat(client, 2.5, 1.5).await;
    let b = lonlat(client, 4.5, 3.5).await;
    let c = lonlat(client, 8.0, 1.0).await;
    let mut square = Vec::new();
    for (x, y) in [(0.5, 0.5), (1.5, 0.5), (1.5, 1.5), (0.5, 1.5), (0.5, 0.5)] {
        square.push(lonlat(client, x, y).await);
    }
    let props = |id: &str, source: &str, date: &str, activity: &str| json!({"clue_id": id, "source": source, "detected_on": date, "activity": activity});
    let features = vec![
        feature(
            props("LD-001", "national", "2024-03-01", "mining"),
            point(a),
        ),
        feature(
            props("SJ-002", "provincial", "2024-04-02", "放牧"),
            point(b),
        ),
        feature(
            props("SJ-003", "provincial", "2024/05/03", "hydropower"),
            point(c),
        ),
        feature(
            props("CS-004", "市级", "2024-06-04", "other"),
            json!({"type": "Polygon", "coordinates": [square]}),
        ),
        feature(
            json!({"source": "national", "detected_on": "2024-03-01", "activity": "road"}),
            point(a),
        ),
        feature(props("BAD-6", "county", "2024-03-01", "road"), point(a)),
        feature(props("BAD-7", "national", "2024-02-30", "road"), point(a)),
        feature(
            props("BAD-8", "national", "2024-03-01", "fishing"),
            point(a),
        ),
        feature(
            props("BAD-9", "national", "2024-03-01", "road"),
            json!({"type": "LineString", "coordinates": [a, b]}),
        ),
        feature(
            props("LD-001", "national", "2024-03-09", "mining"),
            point(b),
        ),
    ];
    let path = dir.join("lvdun_2024.geojson");
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
            batch: Some("绿盾2024".into()),
            ..ImportRequest::default()
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_batch_with_broken_rows_loads_the_good_ones_reports_each_bad_one_and_a_reimport_adds_nothing(
) {
    let db = TestDb::new().await;
    let mut client = load(&db).await;
    let dir = temp_dir("ledger");
    let path = batch_file(&client, &dir).await;
    let report = import(&mut client, &path).await;
    assert_eq!(report.rows, 10);
    assert_eq!(report.imported, 4, "{report:#?}");
    assert_eq!(report.already_present, 0);
    let rejected: Vec<(usize, &str)> = report
        .rejected
        .iter()
        .map(|r| (r.row, r.reason.as_str()))
        .collect();
    assert_eq!(rejected.len(), 6, "{rejected:#?}");
    let expect = [
        (5, "no clue id"),
        (6, "unknown source level"),
        (7, "not a date"),
        (8, "unknown activity"),
        (9, "LineString"),
        (10, "the same clue as row 1"),
    ];
    for ((row, reason), (want_row, want)) in rejected.iter().zip(expect) {
        assert_eq!(*row, want_row);
        assert!(reason.contains(want), "row {row}: {reason}");
    }

    let again = import(&mut client, &path).await;
    assert_eq!(
        (again.imported, again.already_present, again.rejected.len()),
        (0, 4, 6)
    );
    let count: i64 = client
        .query_one("SELECT count(*) FROM onemap.clues", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 4);
    let audited: i64 = client
        .query_one(
            "SELECT count(*) FROM onemap.audit WHERE action = 'ledger.import' AND target = '绿盾2024'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 2);

    // A CSV with lon/lat: line numbers count the header as line 1.
    let [lon, lat] = lonlat(&client, 5.5, 0.5).await;
    let csv = format!(
        "clue_id,source,detected_on,activity,lon,lat\n\
         C-1,city,2024-07-01,road,{lon},{lat}\n\
         C-2,city,2024-07-01,road,east,{lat}\n\
         C-3,city,2024-07-01,road,{lon}\n\
         C-4,city,2024-07-01,road,500000,4290000\n"
    );
    let csv_path = dir.join("city.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let report = import(&mut client, &csv_path).await;
    assert_eq!(report.imported, 1, "{report:#?}");
    let rows: Vec<usize> = report.rejected.iter().map(|r| r.row).collect();
    assert_eq!(rows, [3, 4, 5], "{report:#?}");
    assert!(report.rejected[0].reason.contains("lon is not a number"));
    assert!(report.rejected[2].reason.contains("longitude"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn each_clue_is_enriched_with_zone_station_village_land_classes_change_parcels_and_departments(
) {
    let db = TestDb::new().await;
    let mut client = load(&db).await;
    let dir = temp_dir("ledger");
    let path = batch_file(&client, &dir).await;
    import(&mut client, &path).await;
    let all = onemap_ledger::clues::list(
        &client,
        &onemap_access::Principal::Operator("test".into()),
        &Default::default(),
    )
    .await
    .unwrap();
    let by = |id: &str| all.iter().find(|c| c.clue_id == id).unwrap().clone();

    // The mine: carved out of the forest in 2021, half restored in 2022 (the point lies in the
    // restored triangle), core zone, 龙首山 station, nearest village 西村.
    let a = by("LD-001");
    assert_eq!(a.zones, json!([{"name": "核心区", "kind": "core"}]));
    assert!(a.in_reserve);
    assert_eq!(a.station.as_deref(), Some("lsz"));
    assert_eq!(a.village_name.as_deref(), Some("西村"));
    assert_eq!(
        a.land_classes,
        json!([{"year": 2020, "class": "0301"}, {"year": 2021, "class": "0602"},
               {"year": 2022, "class": "0301"}])
    );
    let changes = a.change_parcels.as_array().unwrap();
    assert!(
        changes.iter().any(|c| c["from_year"] == 2020
            && c["to_year"] == 2021
            && c["from_class"] == "0301"
            && c["to_class"] == "0602"),
        "{changes:#?}"
    );
    assert_eq!(a.suggested_lead.as_deref(), Some("zrzy"));
    assert_eq!(a.suggested_responsible, ["lsz"]);
    assert_eq!(a.lead_department.as_deref(), Some("zrzy"));
    assert_eq!(a.area_m2, 0.0);

    // Grazing in the experimental zone, 大黄山: agriculture leads, forestry and the station.
    let b = by("SJ-002");
    assert_eq!(b.activity, "grazing");
    assert_eq!(b.zones, json!([{"name": "实验区", "kind": "experimental"}]));
    assert_eq!(b.station.as_deref(), Some("dhs"));
    assert_eq!(b.village_name.as_deref(), Some("东村"));
    assert_eq!(b.suggested_lead.as_deref(), Some("nync"));
    assert_eq!(b.suggested_responsible, ["dhs", "lcj"]);
    assert_eq!(b.land_classes[0]["class"], "0401");

    // Hydropower outside the reserve and every jurisdiction: water alone.
    let c = by("SJ-003");
    assert_eq!(c.detected_on, "2024-05-03");
    assert!(!c.in_reserve);
    assert_eq!(c.zones, json!([]));
    assert_eq!(c.station, None);
    assert_eq!(c.suggested_lead.as_deref(), Some("sw"));
    assert!(c.suggested_responsible.is_empty());
    assert_eq!(
        c.land_classes,
        json!([{"year": 2020, "class": null}, {"year": 2021, "class": null}, {"year": 2022, "class": null}])
    );

    // A 1 ha polygon of "other" activity in the core zone: the station leads.
    let d = by("CS-004");
    assert_eq!(d.source, "city");
    assert!((d.area_m2 - 10_000.0).abs() < 1.0, "{}", d.area_m2);
    assert_eq!(d.suggested_lead.as_deref(), Some("lsz"));
    assert!(d.suggested_responsible.is_empty());
    assert_eq!(d.land_classes[0]["class"], "0301");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The batch imported, a server, and users named `<department>_<role>`.
async fn world(users: &[(&str, &str, Role)]) -> LedgerWorld {
    ledger_world(
        "ledger",
        async |client: &mut tokio_postgres::Client, dir: &Path| {
            let path = batch_file(client, dir).await;
            import(client, &path).await;
        },
        users,
        None,
    )
    .await
}

fn clue_ids(body: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(body).unwrap();
    let mut ids: Vec<String> = v["clues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["clue_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_department_sees_only_its_own_clues_the_coordinating_office_all_and_the_public_none() {
    let w = world(&[
        ("zrzy_viewer", "zrzy", Role::Viewer),
        ("sw_viewer", "sw", Role::Viewer),
        ("lcj_viewer", "lcj", Role::Viewer),
        ("lsz_viewer", "lsz", Role::Viewer),
        ("sthwb_viewer", "sthwb", Role::Viewer),
        ("jtys_viewer", "jtys", Role::Viewer),
    ])
    .await;
    let t = &w.tokens;
    let cases: [(&str, &[&str]); 6] = [
        ("zrzy_viewer", &["LD-001"]),
        ("sw_viewer", &["SJ-003"]),
        ("lcj_viewer", &["SJ-002"]),
        ("lsz_viewer", &["CS-004", "LD-001"]),
        ("sthwb_viewer", &["CS-004", "LD-001", "SJ-002", "SJ-003"]),
        ("jtys_viewer", &[]),
    ];
    for (user, expected) in cases {
        let (status, body) = call(
            &w.app,
            &Method::GET,
            "/api/clues",
            &Credential::from_token(Some(&t[user])),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{user}: {body}");
        assert_eq!(clue_ids(&body), expected, "{user}");
    }
    // Filters narrow what one may see; they never widen it.
    let (_, body) = call(
        &w.app,
        &Method::GET,
        "/api/clues?station=lsz&department=zrzy",
        &Credential::from_token(Some(&t["sthwb_viewer"])),
        None,
    )
    .await;
    assert_eq!(clue_ids(&body), ["LD-001"]);
    let (_, body) = call(
        &w.app,
        &Method::GET,
        "/api/clues?department=sw",
        &Credential::from_token(Some(&t["zrzy_viewer"])),
        None,
    )
    .await;
    assert_eq!(clue_ids(&body), Vec::<String>::new());
    let (status, _) = call(
        &w.app,
        &Method::GET,
        "/api/clues?status=done",
        &Credential::from_token(Some(&t["zrzy_viewer"])),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let water = w.ids["SJ-003"];
    let (status, _) = call(
        &w.app,
        &Method::GET,
        &format!("/api/clues/{water}"),
        &Credential::from_token(Some(&t["zrzy_viewer"])),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = call(
        &w.app,
        &Method::GET,
        &format!("/api/clues/{water}"),
        &Credential::from_token(Some(&t["sw_viewer"])),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let clue: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(clue["actions"], json!([]), "a viewer takes no step");
    for uri in [
        "/api/clues",
        "/api/clues/export?format=csv",
        &format!("/api/clues/{water}"),
    ] {
        let (status, _) = call(&w.app, &Method::GET, uri, &Credential::Anonymous, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "anonymous {uri}");
    }
    let (status, csv) = call(
        &w.app,
        &Method::GET,
        "/api/clues/export?format=csv",
        &Credential::from_token(Some(&t["lsz_viewer"])),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert!(lines[0].starts_with("id,clue_id,source,batch,detected_on,activity,status,overdue"));
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines
        .iter()
        .any(|l| l.contains(",LD-001,national,绿盾2024,2024-03-01,mining,pending,false,")));
    // XLSX holds the same rows (tests/tests/ledger_reports.rs reads it back); another format
    // is refused.
    let (status, _) = call(
        &w.app,
        &Method::GET,
        "/api/clues/export?format=xlsx",
        &Credential::from_token(Some(&t["lsz_viewer"])),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &w.app,
        &Method::GET,
        "/api/clues/export?format=ods",
        &Credential::from_token(Some(&t["lsz_viewer"])),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn workflow_steps_through_the_api_are_checked_recorded_in_the_audit_trail_and_overdue_is_flagged(
) {
    let w = world(&[
        ("zrzy_editor", "zrzy", Role::Editor),
        ("zrzy_viewer", "zrzy", Role::Viewer),
        ("sthwb_editor", "sthwb", Role::Editor),
        ("lsz_editor", "lsz", Role::Editor),
    ])
    .await;
    let t = &w.tokens;
    let mine = w.ids["LD-001"];
    let uri = format!("/api/clues/{mine}/transitions");
    let post = |who: &str, body: Value| {
        let token = t[who].clone();
        let uri = uri.clone();
        let app = w.app.clone();
        async move {
            call(
                &app,
                &Method::POST,
                &uri,
                &Credential::from_token(Some(&token)),
                Some(&body.to_string()),
            )
            .await
        }
    };

    // Not yet verified: the sign-off is refused with the reason.
    let (status, body) = post("sthwb_editor", json!({"action": "close"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("verified in the field"), "{body}");
    // A viewer of the lead department may not work on it.
    let (status, _) = post(
        "zrzy_viewer",
        json!({"action": "verify_problem", "notes": "x", "date": "2024-03-10"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Field notes are required.
    let (status, body) = post(
        "zrzy_editor",
        json!({"action": "verify_problem", "date": "2024-03-10"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = post(
        "zrzy_editor",
        json!({"action": "verify_problem",
        "notes": "open pit 40 m × 30 m, fresh spoil", "verifier": "王工", "date": "2024-03-10"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["clue"]["status"], "verified_problem");
    assert_eq!(v["clue"]["verified_by"], "王工");
    let (status, _) = post(
        "zrzy_editor",
        json!({"action": "verify_no_problem", "notes": "x", "date": "2024-03-11"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = post(
        "lsz_editor",
        json!({"action": "start_rectification",
        "measures": "stop mining, backfill, replant", "deadline": "2024-06-30",
        "lead": "nosuch", "responsible": ["lsz"]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("nosuch"));
    let (status, body) = post(
        "lsz_editor",
        json!({"action": "start_rectification",
        "measures": "stop mining, backfill, replant", "deadline": "2024-06-30",
        "lead": "zrzy", "responsible": ["lsz", "lcj"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The deadline has passed: flagged in the API and in the daily job's list.
    let (_, body) = call(
        &w.app,
        &Method::GET,
        "/api/clues?overdue=true",
        &Credential::from_token(Some(&t["zrzy_viewer"])),
        None,
    )
    .await;
    assert_eq!(clue_ids(&body), ["LD-001"]);
    let overdue = onemap_ledger::clues::overdue(&w.client).await.unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0].deadline.as_deref(), Some("2024-06-30"));
    assert!(overdue[0].overdue);

    let (status, _) = post(
        "zrzy_editor",
        json!({"action": "report_rectified",
        "evidence": "site photos 2024-06-20, backfilled and replanted", "date": "2024-06-20"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(onemap_ledger::clues::overdue(&w.client)
        .await
        .unwrap()
        .is_empty());
    // Only the coordinating office signs off.
    let (status, _) = post("zrzy_editor", json!({"action": "close"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = post(
        "sthwb_editor",
        json!({"action": "close", "note": "checked on site", "date": "2024-07-01"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = post("sthwb_editor", json!({"action": "close"})).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Each step is in the audit trail, in order, and in the clue's history with its seq.
    let rows = w
        .client
        .query(
            "SELECT action, actor, details ->> 'to' FROM onemap.audit WHERE target = $1 ORDER BY seq",
            &[&format!("clue:{mine}")],
        )
        .await
        .unwrap();
    let steps: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        steps,
        [
            (
                "clue.verify_problem".into(),
                "zrzy_editor".into(),
                "verified_problem".into()
            ),
            (
                "clue.start_rectification".into(),
                "lsz_editor".into(),
                "rectifying".into()
            ),
            (
                "clue.report_rectified".into(),
                "zrzy_editor".into(),
                "rectified".into()
            ),
            ("clue.close".into(), "sthwb_editor".into(), "closed".into()),
        ]
    );
    let (_, body) = call(
        &w.app,
        &Method::GET,
        &format!("/api/clues/{mine}"),
        &Credential::from_token(Some(&t["sthwb_editor"])),
        None,
    )
    .await;
    let clue: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(clue["status"], "closed");
    assert_eq!(clue["closed_by"], "sthwb_editor");
    assert_eq!(clue["closed_on"], "2024-07-01");
    assert_eq!(clue["responsible_departments"], json!(["lsz", "lcj"]));
    assert_eq!(clue["history"].as_array().unwrap().len(), 4);
    let report = onemap_access::audit::verify(&w.client).await.unwrap();
    assert!(report.ok(), "{report:?}");

    // A clue found to be no problem goes straight to the sign-off.
    let water = w.ids["SJ-003"];
    let (status, _) = call(
        &w.app,
        &Method::POST,
        &format!("/api/clues/{water}/transitions"),
        &Credential::from_token(Some(&t["sthwb_editor"])),
        Some(
            &json!({"action": "verify_no_problem",
        "notes": "licensed small hydropower, eco-flow met", "date": "2024-05-10"})
            .to_string(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &w.app,
        &Method::POST,
        &format!("/api/clues/{water}/transitions"),
        &Credential::from_token(Some(&t["sthwb_editor"])),
        Some(&json!({"action": "close"}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Someone who cannot see a clue cannot step it either: 404, not 403.
    let (status, _) = call(
        &w.app,
        &Method::POST,
        &format!("/api/clues/{water}/transitions"),
        &Credential::from_token(Some(&t["zrzy_editor"])),
        Some(&json!({"action": "close"}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
