//! The audit trail: what is recorded, that the server's and the ingest's database roles can
//! append but never rewrite it, that concurrent appends keep one linear chain, and that an
//! entry altered or removed by a superuser is detected by `audit::verify`.

mod helpers;

use helpers::{fixture, TestDb};
use onemap_access::{audit, layers, publish, tokens, users, Acting, Role};
use onemap_ingest::IngestRequest;
use serde_json::json;

async fn actions(client: &tokio_postgres::Client) -> Vec<String> {
    client
        .query("SELECT action FROM onemap.audit ORDER BY seq", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn users_tokens_logins_access_changes_and_publications_are_recorded_in_one_valid_chain() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let operator = Acting::operator("tester");
    publish::publish(
        &mut client,
        &operator,
        &IngestRequest {
            path: fixture("tiles/parcels_4326.geojson"),
            layer: "audited".into(),
            department: "zrzy".into(),
            year: Some(2024),
            ..IngestRequest::default()
        },
    )
    .await
    .unwrap();
    layers::set_access(
        &mut client,
        &operator,
        "audited",
        "restricted",
        Some(&["sthj".to_owned()]),
    )
    .await
    .unwrap();
    users::add(
        &mut client,
        &operator,
        "li.ming",
        "zrzy",
        Role::Editor,
        Some("a long password"),
    )
    .await
    .unwrap();
    let (_, token) = tokens::create(&mut client, &operator, "li.ming", "script")
        .await
        .unwrap();
    tokens::revoke(&mut client, &operator, &token)
        .await
        .unwrap();
    let from = Some("10.0.0.7:4242".to_owned());
    users::authenticate(&mut client, from.clone(), "li.ming", "a long password")
        .await
        .unwrap();
    let err = users::authenticate(&mut client, from.clone(), "li.ming", "wrong password")
        .await
        .unwrap_err();
    assert!(matches!(err, onemap_access::AccessError::BadCredentials));
    users::authenticate(&mut client, from, "=HYPERLINK(\"x\")", "whatever it is")
        .await
        .unwrap_err();
    users::set_password(&mut client, &operator, "li.ming", "another long one")
        .await
        .unwrap();
    users::set_disabled(&mut client, &operator, "li.ming", true)
        .await
        .unwrap();

    assert_eq!(
        actions(&client).await,
        [
            "ingest.publish",
            "layer.access",
            "user.add",
            "token.create",
            "token.revoke",
            "login.success",
            "login.failure",
            "login.failure",
            "user.passwd",
            "user.disable",
        ]
    );
    let entries = audit::page(&client, 100, 0).await.unwrap();
    let publish_entry = entries
        .iter()
        .find(|e| e.action == "ingest.publish")
        .unwrap();
    assert_eq!(publish_entry.actor, "tester");
    assert_eq!(publish_entry.actor_role.as_deref(), Some("operator"));
    assert_eq!(publish_entry.client_addr.as_deref(), Some("local"));
    assert_eq!(publish_entry.target.as_deref(), Some("audited"));
    assert_eq!(publish_entry.details["year"], 2024);
    let access = entries.iter().find(|e| e.action == "layer.access").unwrap();
    assert_eq!(
        access.details["to"],
        json!({ "level": "restricted", "shared_with": ["sthj"] })
    );
    let failure = entries
        .iter()
        .find(|e| e.action == "login.failure")
        .unwrap();
    assert_eq!(failure.client_addr.as_deref(), Some("10.0.0.7:4242"));
    assert!(
        !failure.details.to_string().contains("password\":\""),
        "no password in the trail"
    );
    let success = entries
        .iter()
        .find(|e| e.action == "login.success")
        .unwrap();
    assert_eq!(success.actor, "li.ming");
    assert_eq!(success.actor_department.as_deref(), Some("zrzy"));

    let report = audit::verify(&client).await.unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.entries, 10);
    assert_eq!(report.head.as_deref(), Some(entries[0].hash.as_str()));
    // CSV export: a header and one line per entry.
    let csv = audit::to_csv(&entries);
    assert!(csv.starts_with("seq,at,actor,"));
    assert_eq!(csv.lines().count(), 11);
    assert!(
        csv.contains("'=HYPERLINK"),
        "a formula in the CSV export is defused: {csv}"
    );
}

#[tokio::test]
async fn the_writer_role_may_append_the_reader_only_read_and_neither_update_delete_or_truncate() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    audit::record(
        &mut client,
        &Acting::operator("tester"),
        "test.entry",
        None,
        &json!({"n": 1}),
    )
    .await
    .unwrap();
    for role in ["onemap_reader", "onemap_writer"] {
        // The test connects as a superuser, which may assume any role.
        let mut as_role = db.client().await;
        as_role
            .batch_execute(&format!("SET ROLE {role}"))
            .await
            .unwrap();
        // Appending works through the same function the server uses, for the writer (the
        // server's write pool and ingest); the read pool may not even append (V11).
        let appended = audit::record(
            &mut as_role,
            &Acting::operator(role),
            "test.entry",
            None,
            &json!({}),
        )
        .await;
        if role == "onemap_writer" {
            appended.unwrap_or_else(|e| panic!("{role} cannot append: {e}"));
        } else {
            let err = appended.expect_err("the reader may not append");
            assert!(
                matches!(&err, onemap_access::AccessError::Postgres { source, .. }
                    if source.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)),
                "{err:?}"
            );
        }
        for statement in [
            "UPDATE onemap.audit SET actor = 'mallory'",
            "DELETE FROM onemap.audit",
            "TRUNCATE onemap.audit",
        ] {
            let err = as_role.batch_execute(statement).await.unwrap_err();
            assert_eq!(
                err.code(),
                Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
                "{role}: {statement}: {err}"
            );
        }
    }
    // Even the owner (a superuser here) is stopped by the trigger while it is enabled
    // (TRUNCATE with CASCADE: plain TRUNCATE is already refused for the ledger's foreign key).
    for statement in [
        "UPDATE onemap.audit SET actor = 'mallory'",
        "DELETE FROM onemap.audit",
        "TRUNCATE onemap.audit CASCADE",
    ] {
        let err = client.batch_execute(statement).await.unwrap_err();
        assert!(
            err.to_string().contains("append-only") || format!("{err:?}").contains("append-only"),
            "{statement}: {err:?}"
        );
    }
    let count: i64 = client
        .query_one("SELECT count(*) FROM onemap.audit", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 2);
    assert!(audit::verify(&client).await.unwrap().ok());
}

#[tokio::test]
async fn an_entry_altered_by_a_superuser_with_the_trigger_disabled_breaks_verification() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let operator = Acting::operator("tester");
    for n in 0..5 {
        audit::record(
            &mut client,
            &operator,
            "test.entry",
            Some("t"),
            &json!({ "n": n }),
        )
        .await
        .unwrap();
    }
    assert!(audit::verify(&client).await.unwrap().ok());
    client
        .batch_execute(
            "ALTER TABLE onemap.audit DISABLE TRIGGER audit_append_only;
             UPDATE onemap.audit SET details = '{\"n\": 99}' WHERE seq = 3;
             ALTER TABLE onemap.audit ENABLE TRIGGER audit_append_only;",
        )
        .await
        .unwrap();
    let report = audit::verify(&client).await.unwrap();
    assert_eq!(report.broken.as_ref().map(|b| b.0), Some(3), "{report:?}");
    assert_eq!(report.entries, 2);

    // Recomputing that entry's own hash does not help: the next entry's prev_hash betrays it.
    let db2 = TestDb::new().await;
    let mut c2 = db2.client().await;
    for n in 0..3 {
        audit::record(&mut c2, &operator, "test.entry", None, &json!({ "n": n }))
            .await
            .unwrap();
    }
    c2.batch_execute(
        "ALTER TABLE onemap.audit DISABLE TRIGGER audit_append_only;
         DELETE FROM onemap.audit WHERE seq = 2;
         ALTER TABLE onemap.audit ENABLE TRIGGER audit_append_only;",
    )
    .await
    .unwrap();
    let report = audit::verify(&c2).await.unwrap();
    assert_eq!(report.broken.as_ref().map(|b| b.0), Some(3), "{report:?}");
}

#[tokio::test]
async fn concurrent_appends_form_one_linear_chain() {
    let db = TestDb::new().await;
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let url = db.url.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = onemap_schemas::database::connect(&url).await.unwrap();
            for n in 0..25 {
                audit::record(
                    &mut client,
                    &Acting::operator(format!("worker{worker}")),
                    "test.entry",
                    None,
                    &json!({ "n": n }),
                )
                .await
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let appended = started.elapsed();
    let client = db.client().await;
    let started = std::time::Instant::now();
    let report = audit::verify(&client).await.unwrap();
    eprintln!(
        "200 concurrent appends (8 connections) in {appended:.2?}; verified in {:.2?}",
        started.elapsed()
    );
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.entries, 200);
}
