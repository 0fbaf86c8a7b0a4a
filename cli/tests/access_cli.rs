//! `onemap user`, `onemap token`, `onemap layers set-access` and `onemap audit verify` as an
//! operator runs them, against a real PostGIS.

#[path = "../../tests/tests/helpers/mod.rs"]
mod helpers;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use helpers::TestDb;

fn onemap(db: &TestDb, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_onemap"))
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env("ONEMAP_USER", "cli-tester")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn an_operator_manages_users_tokens_and_access_and_audit_verify_catches_tampering() {
    let db = TestDb::new().await;
    ok(&onemap(
        &db,
        &[
            "user",
            "add",
            "wang.fang",
            "--department",
            "lcj",
            "--role",
            "editor",
        ],
        Some("password from stdin\n"),
    ));
    ok(&onemap(
        &db,
        &[
            "user",
            "add",
            "zhao.lei",
            "--department",
            "sthj",
            "--role",
            "auditor",
            "--password",
            "given on the line",
        ],
        None,
    ));
    assert!(!onemap(
        &db,
        &[
            "user",
            "add",
            "x",
            "--department",
            "nope",
            "--role",
            "viewer",
            "--no-password"
        ],
        None
    )
    .status
    .success());
    assert!(!onemap(
        &db,
        &[
            "user",
            "add",
            "y",
            "--department",
            "lcj",
            "--role",
            "king",
            "--no-password"
        ],
        None
    )
    .status
    .success());
    let list = ok(&onemap(&db, &["user", "list"], None));
    assert!(
        list.contains("wang.fang") && list.contains("zhao.lei"),
        "{list}"
    );

    let token = ok(&onemap(&db, &["token", "create", "wang.fang"], None));
    let token = token.trim();
    assert!(token.starts_with("om_") && token.len() == 46, "{token:?}");
    ok(&onemap(&db, &["token", "revoke", token], None));
    ok(&onemap(
        &db,
        &["user", "passwd", "wang.fang"],
        Some("a new password\n"),
    ));
    ok(&onemap(&db, &["user", "disable", "wang.fang"], None));

    let file =
        std::env::temp_dir().join(format!("onemap-access-cli-{}.geojson", std::process::id()));
    std::fs::write(
        &file,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"a"},"geometry":{"type":"Point","coordinates":[101.1,38.5]}}]}"#,
    )
    .unwrap();
    ok(&onemap(
        &db,
        &[
            "ingest",
            file.to_str().unwrap(),
            "--layer",
            "wells",
            "--department",
            "sw",
        ],
        None,
    ));
    ok(&onemap(
        &db,
        &[
            "layers",
            "set-access",
            "wells",
            "restricted",
            "--share",
            "lcj,sthj",
        ],
        None,
    ));
    assert!(
        !onemap(&db, &["layers", "set-access", "wells", "secret"], None)
            .status
            .success()
    );
    assert!(!onemap(
        &db,
        &[
            "layers",
            "set-access",
            "wells",
            "restricted",
            "--share",
            "nope"
        ],
        None
    )
    .status
    .success());
    let client = db.client().await;
    let by: String = client
        .query_one("SELECT ingested_by FROM onemap.layer_versions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(by, "cli-tester");

    let verified = ok(&onemap(&db, &["audit", "verify"], None));
    assert!(verified.contains("intact: 8 entries"), "{verified}");

    client
        .batch_execute(
            "ALTER TABLE onemap.audit DISABLE TRIGGER audit_append_only;
             UPDATE onemap.audit SET actor = 'someone else' WHERE action = 'ingest.publish';
             ALTER TABLE onemap.audit ENABLE TRIGGER audit_append_only;",
        )
        .await
        .unwrap();
    let out = onemap(&db, &["audit", "verify"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("BROKEN at entry 7"), "{err}");
    let _ = std::fs::remove_file(file);
}
