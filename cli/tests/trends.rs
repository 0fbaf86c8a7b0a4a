//! `onemap trends` and `onemap changes` as a user runs them, on the hand-checkable fixtures of
//! tests/fixtures/trends (see its README for every area).

#[path = "../../tests/tests/helpers/mod.rs"]
mod helpers;

use std::path::PathBuf;
use std::process::{Command, Output};

use helpers::TestDb;

/// A file under the workspace's tests/fixtures/trends.
fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/trends")
        .join(name)
}

fn onemap(db: &TestDb, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_onemap"))
        .args(args)
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "onemap {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn precompute_reports_each_year_and_area_transitions_and_changes_print_the_fixture_hectares()
{
    let db = TestDb::new().await;
    let zones = fixture("zones.geojson");
    onemap(
        &db,
        &[
            "ingest",
            zones.to_str().unwrap(),
            "--layer",
            "zones",
            "--department",
            "zrzy",
            "--srid",
            "4543",
        ],
    );
    // Each land-use year is precomputed as it is published, and the ingest says so.
    let mut ingested = Vec::new();
    for year in ["2020", "2021"] {
        let file = fixture(&format!("landuse_{year}.geojson"));
        ingested.push(stdout(&onemap(
            &db,
            &[
                "ingest",
                file.to_str().unwrap(),
                "--layer",
                "landuse",
                "--department",
                "zrzy",
                "--year",
                year,
                "--srid",
                "4543",
            ],
        )));
    }
    assert!(
        ingested[0].contains("trends landuse 2020: areas for 2 zone sets"),
        "{}",
        ingested[0]
    );
    assert!(
        ingested[1].contains("trends landuse 2021: areas for 2 zone sets")
            && ingested[1].contains("overlay with 2020: 2 zone sets, 2 change parcels"),
        "{}",
        ingested[1]
    );

    // An explicit precompute then finds nothing left to do, and says so year by year.
    let out = stdout(&onemap(&db, &["trends", "precompute", "landuse"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with("trends landuse 2020: areas for 0 zone sets"),
        "{out}"
    );
    assert!(lines[1].contains("overlay with 2020: 0 zone sets"), "{out}");
    assert!(
        lines[2].starts_with("trends landuse precomputed in"),
        "{out}"
    );

    let out = stdout(&onemap(
        &db,
        &[
            "trends",
            "area",
            "--layer",
            "landuse",
            "--zone-layer",
            "zones",
            "--zone",
            "核心区",
            "--from",
            "2021",
            "--level",
            "1",
            "--format",
            "csv",
        ],
    ));
    let rows: Vec<(String, f64)> = out
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f[0], "2021", "{out}");
            (f[1].to_owned(), f[2].parse().unwrap())
        })
        .collect();
    let expected = [("01", 4.0), ("03", 8.0), ("06", 4.0)];
    assert_eq!(rows.len(), expected.len(), "{out}");
    for ((class, area), (want_class, want_ha)) in rows.iter().zip(expected) {
        assert_eq!(class, want_class);
        assert!((area - want_ha * 1e4).abs() < 1e-2, "{class}: {area}");
    }

    let m: serde_json::Value = serde_json::from_slice(
        &onemap(&db, &["trends", "transitions", "--layer", "landuse"]).stdout,
    )
    .unwrap();
    assert_eq!(
        (m["from"].as_i64(), m["to"].as_i64()),
        (Some(2020), Some(2021))
    );
    assert_eq!(m["cells"].as_array().unwrap().len(), 4);

    let changes: serde_json::Value =
        serde_json::from_slice(&onemap(&db, &["changes", "--layer", "landuse"]).stdout).unwrap();
    let features = changes["features"].as_array().unwrap();
    assert_eq!(features.len(), 2);
    assert_eq!(features[0]["properties"]["from_class"], "0401");
    assert!((features[0]["properties"]["area_m2"].as_f64().unwrap() - 6e4).abs() < 1e-2);
}
