//! `onemap survey sync` as a user runs it, on survey files written by `onemap demo`: a folder
//! of yearly deliveries in the layouts departments use, a generation with lower-case and `_1`
//! field names, an unknown land-class code and a parcel whose stated area is wrong.

#[path = "../../tests/tests/helpers/mod.rs"]
mod helpers;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use helpers::TestDb;
use serde_json::Value;

fn onemap(db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onemap"))
        .args(args)
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sync_json(db: &TestDb, args: &[&str]) -> Value {
    let mut all = vec!["survey", "sync"];
    all.extend_from_slice(args);
    all.push("--json");
    serde_json::from_str(&ok(&onemap(db, &all))).unwrap()
}

fn parcels_in(gpkg: &Path) -> i64 {
    rusqlite::Connection::open(gpkg)
        .unwrap()
        .query_row("SELECT count(*) FROM DLTB", [], |r| r.get(0))
        .unwrap()
}

/// The 2021 survey as another generation of tools writes it: lower-case and `_1` field names,
/// one parcel with a code no classification lists, one whose TBMJ is 10% too large. Returns
/// that parcel's BSM, and the unknown code's BSM.
fn make_other_generation(from: &Path, to: &Path) -> (String, String) {
    std::fs::copy(from, to).unwrap();
    let db = rusqlite::Connection::open(to).unwrap();
    for (old, new) in [
        ("BSM", "bsm"),
        ("TBBH", "TBBH_1"),
        ("DLBM", "dlbm"),
        ("DLMC", "DLMC_1"),
        ("ZLDWDM", "ZLDWDM_1"),
        ("TBMJ", "tbmj"),
        ("TBDLMJ", "TBDLMJ_1"),
    ] {
        db.execute_batch(&format!("ALTER TABLE DLTB RENAME COLUMN {old} TO {new}"))
            .unwrap();
    }
    let wrong_area: String = db
        .query_row(
            "SELECT bsm FROM DLTB ORDER BY fid LIMIT 1 OFFSET 10",
            [],
            |r| r.get(0),
        )
        .unwrap();
    db.execute(
        "UPDATE DLTB SET tbmj = tbmj * 1.1 WHERE bsm = ?1",
        [&wrong_area],
    )
    .unwrap();
    let unknown: String = db
        .query_row(
            "SELECT bsm FROM DLTB ORDER BY fid LIMIT 1 OFFSET 20",
            [],
            |r| r.get(0),
        )
        .unwrap();
    db.execute("UPDATE DLTB SET dlbm = '0999' WHERE bsm = ?1", [&unknown])
        .unwrap();
    (wrong_area, unknown)
}

async fn versions(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one("SELECT count(*) FROM onemap.layer_versions", &[])
        .await
        .unwrap()
        .get(0)
}

fn years(report: &Value) -> Vec<(i64, bool)> {
    report["years"]
        .as_array()
        .unwrap()
        .iter()
        .map(|y| {
            (
                y["year"].as_i64().unwrap(),
                y["report"]["unchanged"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn survey_sync_loads_new_years_maps_field_variants_and_reports_classes_and_areas() {
    // The demo writes its survey files (and loads them into a database of its own).
    let gen_db = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("onemap-survey-cli-{}", std::process::id()));
    let demo = dir.join("demo");
    ok(&onemap(
        &gen_db,
        &[
            "demo",
            "--no-serve",
            "--parcels",
            "500",
            "--out",
            demo.to_str().unwrap(),
        ],
    ));
    drop(gen_db);

    // Deliveries laid out three ways: a year folder, a year in the file name, and a county
    // code plus year folder holding the other generation's file.
    let deliveries = dir.join("deliveries");
    std::fs::create_dir_all(deliveries.join("2019")).unwrap();
    std::fs::create_dir_all(deliveries.join("620725_2021")).unwrap();
    std::fs::copy(
        demo.join("dltb_2019.gpkg"),
        deliveries.join("2019/DLTB.gpkg"),
    )
    .unwrap();
    std::fs::copy(
        demo.join("dltb_2020.gpkg"),
        deliveries.join("DLTB_2020.gpkg"),
    )
    .unwrap();
    let other: PathBuf = deliveries.join("620725_2021/DLTB.gpkg");
    let (wrong_area, unknown) = make_other_generation(&demo.join("dltb_2021.gpkg"), &other);
    std::fs::write(deliveries.join("README.txt"), "not a dataset").unwrap();

    let db = TestDb::new().await;
    let client = db.client().await;
    let deliveries_arg = deliveries.to_str().unwrap();
    let first = sync_json(&db, &[deliveries_arg]);
    assert_eq!(first["layer"], "dltb");
    assert_eq!(years(&first), [(2019, false), (2020, false), (2021, false)]);
    for (y, file) in [
        (0, deliveries.join("2019/DLTB.gpkg")),
        (1, deliveries.join("DLTB_2020.gpkg")),
        (2, other.clone()),
    ] {
        let year = &first["years"][y];
        assert_eq!(
            year["report"]["features_written"].as_i64().unwrap(),
            parcels_in(&file),
            "{year}"
        );
        assert_eq!(
            year["checks"]["missing_fields"],
            serde_json::json!([]),
            "{year}"
        );
    }
    // The demo's own years: every class known.
    assert_eq!(
        first["years"][0]["checks"]["unknown_classes"],
        serde_json::json!([])
    );

    // 2021: the unknown code is listed and kept, the wrong area reported with its BSM.
    let checks = &first["years"][2]["checks"];
    assert_eq!(
        checks["unknown_classes"],
        serde_json::json!([{"code": "0999", "parcels": 1}])
    );
    assert!(checks["area_mismatches"].as_i64().unwrap() >= 1, "{checks}");
    assert_eq!(
        checks["area_examples"][0]["bsm"],
        serde_json::json!(wrong_area)
    );
    let tbmj = checks["area_examples"][0]["tbmj"].as_f64().unwrap();
    let area = checks["area_examples"][0]["area_m2"].as_f64().unwrap();
    assert!((tbmj / area - 1.1).abs() < 0.02, "{tbmj} {area}");
    let version_2021 = first["years"][2]["report"]["version_id"].as_i64().unwrap();
    let row = client
        .query_one(
            "SELECT props FROM onemap.features WHERE version_id = $1 AND props->>'BSM' = $2",
            &[&version_2021, &unknown],
        )
        .await
        .unwrap();
    let props: Value = row.get(0);
    // Canonical names, whatever the file called them; fields outside the table untouched.
    assert_eq!(props["DLBM"], "0999");
    for key in [
        "BSM", "TBBH", "DLBM", "DLMC", "QSDWDM", "ZLDWDM", "TBMJ", "KCMJ", "TBDLMJ",
    ] {
        assert!(props.get(key).is_some(), "{key} missing from {props}");
    }
    for key in ["bsm", "dlbm", "TBBH_1", "tbmj"] {
        assert!(props.get(key).is_none(), "{key} still in {props}");
    }
    let layer = client
        .query_one(
            "SELECT theme, class_field, department FROM onemap.layers WHERE id = 'dltb'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            layer.get::<_, String>(0),
            layer.get::<_, Option<String>>(1),
            layer.get::<_, String>(2)
        ),
        ("land_use".into(), Some("DLBM".into()), "zrzy".into())
    );

    // Again: nothing new, nothing loaded.
    let again = sync_json(&db, &[deliveries_arg]);
    assert_eq!(years(&again), [(2019, true), (2020, true), (2021, true)]);
    assert_eq!(versions(&client).await, 3);

    // A new year arrives: only it is loaded. --year picks one year of the folder.
    std::fs::copy(
        demo.join("dltb_2022.gpkg"),
        deliveries.join("DLTB_2022.gpkg"),
    )
    .unwrap();
    let third = sync_json(&db, &[deliveries_arg]);
    assert_eq!(
        years(&third),
        [(2019, true), (2020, true), (2021, true), (2022, false)]
    );
    let one = sync_json(&db, &[deliveries_arg, "--year", "2020"]);
    assert_eq!(years(&one), [(2020, true)]);
    assert_eq!(versions(&client).await, 4);

    // A file named without a year needs --year; the text output names the checks.
    let plain = dir.join("parcels.gpkg");
    std::fs::copy(demo.join("dltb_2023.gpkg"), &plain).unwrap();
    let out = onemap(&db, &["survey", "sync", plain.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("parcels.gpkg") && err.contains("--year"),
        "{err}"
    );
    let text = ok(&onemap(
        &db,
        &["survey", "sync", plain.to_str().unwrap(), "--year", "2023"],
    ));
    assert!(
        text.contains("every DLBM is a GB/T 21010 or working class"),
        "{text}"
    );
    assert!(text.contains("1 survey year(s) loaded"), "{text}");
    assert_eq!(versions(&client).await, 5);
}
