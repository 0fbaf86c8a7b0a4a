//! The `onemap` program as a user runs it: help on every subcommand, exit codes, and ingest
//! through the command line against a real PostGIS.

#[path = "../../tests/tests/helpers/mod.rs"]
mod helpers;

use std::process::{Command, Output};

use helpers::TestDb;

fn onemap(db: Option<&TestDb>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onemap"));
    cmd.args(args).env_remove("DATABASE_URL");
    if let Some(db) = db {
        cmd.env("DATABASE_URL", &db.url);
    }
    cmd.output().unwrap()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn every_subcommand_has_help() {
    for (sub, flag) in [
        ("serve", "--listen"),
        ("ingest", "--department"),
        ("migrate", "--database-url"),
        ("demo", "--parcels"),
        ("layers", "--json"),
        ("db", "start"),
    ] {
        let out = onemap(None, &[sub, "--help"]);
        assert!(out.status.success(), "{sub} --help failed");
        assert!(
            text(&out.stdout).contains(flag),
            "{sub} --help lacks {flag}"
        );
    }
    let out = onemap(None, &["--help"]);
    assert!(out.status.success());
    assert!(!onemap(None, &["no-such-command"]).status.success());
    assert!(
        !onemap(None, &["ingest"]).status.success(),
        "ingest without a file must fail"
    );
}

#[tokio::test]
async fn a_malformed_file_fails_with_its_name_and_feature_and_publishes_nothing() {
    let db = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("onemap-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("zones.geojson");
    std::fs::write(
        &good,
        r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","properties":{"name":"核心区"},"geometry":{"type":"Polygon","coordinates":[[[101,38],[101.1,38],[101.1,38.1],[101,38]]]}}]}"#,
    )
    .unwrap();
    let bad = dir.join("broken.geojson");
    std::fs::write(
        &bad,
        r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","properties":{"name":"a"},"geometry":{"type":"Polygon","coordinates":[[[101,38],[101.1,38],[101.1,38.1],[101,38]]]}},
          {"type":"Feature","properties":{"name":"b"},"geometry":{"type":"Polygon","coordinates":[[[101,38],"oops"]]}}]}"#,
    )
    .unwrap();

    let out = onemap(
        Some(&db),
        &[
            "ingest",
            good.to_str().unwrap(),
            "--layer",
            "zones",
            "--department",
            "lcj",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["features_written"], 1);
    assert_eq!(report["srid"], 4326);

    let out = onemap(
        Some(&db),
        &[
            "ingest",
            bad.to_str().unwrap(),
            "--layer",
            "zones",
            "--department",
            "lcj",
        ],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("broken.geojson"), "{err}");
    assert!(err.contains("feature 2"), "{err}");

    let out = onemap(Some(&db), &["layers", "--json"]);
    assert!(out.status.success());
    let layers: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let versions = layers[0]["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 1, "the broken file published nothing");
    assert_eq!(versions[0]["source_file"], "zones.geojson");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn migrate_succeeds_on_an_up_to_date_database() {
    let db = TestDb::new().await;
    let out = onemap(Some(&db), &["migrate"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Runs `onemap ARGS` inside a pseudo-terminal (util-linux `script`), so that stdout and stderr
/// are both a terminal and end up in one stream: what a user at a terminal sees.
fn onemap_at_a_terminal(db: &TestDb, args: &[&str]) -> Output {
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_onemap"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    Command::new("script")
        .args(["-qec", &quoted.join(" "), "/dev/null"])
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "off")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[tokio::test]
async fn ingest_shows_a_progress_bar_at_a_terminal_but_json_output_stays_pure_json() {
    let db = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("onemap-cli-bar-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("zones.geojson");
    std::fs::write(
        &file,
        r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","properties":{"name":"核心区"},"geometry":{"type":"Polygon","coordinates":[[[101,38],[101.1,38],[101.1,38.1],[101,38]]]}}]}"#,
    )
    .unwrap();
    let ingest = |year: &'static str, json: bool| {
        let mut args = vec![
            "ingest",
            file.to_str().unwrap(),
            "--layer",
            "zones",
            "--department",
            "lcj",
            "--year",
            year,
        ];
        if json {
            args.push("--json");
        }
        onemap_at_a_terminal(&db, &args)
    };

    let out = ingest("2024", true);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let shown = text(&out.stdout);
    assert!(
        !shown.contains("features read"),
        "a progress bar with --json: {shown}"
    );
    assert!(
        !shown.contains('\u{1b}'),
        "terminal escapes with --json: {shown:?}"
    );
    let report: serde_json::Value = serde_json::from_str(&shown)
        .unwrap_or_else(|e| panic!("--json output is not pure JSON ({e}): {shown:?}"));
    assert_eq!(report["features_written"], 1);

    let out = ingest("2025", false);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let shown = text(&out.stdout);
    assert!(
        shown.contains(" features read"),
        "no progress bar: {shown:?}"
    );
    let report_line = shown
        .lines()
        .find_map(|l| l.find("zones 2025: ").map(|at| l[at..].trim_end()))
        .unwrap_or_else(|| panic!("no report line: {shown:?}"));
    assert!(
        report_line.contains("1 of 1 features published as version 2"),
        "{report_line}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
