//! The viewer's cookie sessions through the HTTP server: the two cookies and their flags,
//! a fresh session id at every login, CSRF tokens on unsafe cookie requests (bearer requests
//! exempt), logout, expiry, forged cookies, the login rate limit, the Content-Security-Policy,
//! and the read pool's inability to change anything.

mod helpers;

use std::path::Path;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use axum::Router;
use helpers::http::{self, send, Answer, Req};
use helpers::{fixture, TestDb};
use onemap_access::{layers, publish, tokens, users, Acting, Role};
use onemap_ingest::IngestRequest;
use onemap_tile_server::{app, AppState, ServerConfig, SessionConfig};
use serde_json::Value;

const PASSWORD: &str = "correct horse battery";

struct World {
    db: TestDb,
    state: AppState,
    app: Router,
}

/// A restricted layer of zrzy, an editor of zrzy with a password, a viewer of lcj, and a server
/// whose login limit is `failures` per `window`.
async fn world(failures: usize, window: Duration) -> World {
    world_with(SessionConfig {
        login_failures: failures,
        login_window: window,
        ..SessionConfig::default()
    })
    .await
}

/// The same world, with these session settings.
async fn world_with(sessions: SessionConfig) -> World {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let operator = Acting::operator("test");
    publish::publish(
        &mut client,
        &operator,
        &IngestRequest {
            path: fixture("tiles/parcels_4326.geojson"),
            layer: "ses_layer".into(),
            department: "zrzy".into(),
            year: Some(2024),
            ..IngestRequest::default()
        },
    )
    .await
    .unwrap();
    layers::set_access(&mut client, &operator, "ses_layer", "restricted", None)
        .await
        .unwrap();
    for (name, department, role) in [
        ("zhang.wei", "zrzy", Role::Editor),
        ("wang.fang", "lcj", Role::Viewer),
    ] {
        users::add(
            &mut client,
            &operator,
            name,
            department,
            role,
            Some(PASSWORD),
        )
        .await
        .unwrap();
    }
    let config = ServerConfig {
        database_url: db.url.clone(),
        viewer_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../viewer"),
        pool_size: 4,
        tile_cache_mb: 0,
    };
    let state = AppState::new(&config)
        .await
        .unwrap()
        .with_sessions(sessions);
    let app = app(state.clone());
    World { db, state, app }
}

fn login_body(name: &str, password: &str) -> Option<String> {
    http::session_login_body(name, password)
}

/// Signs in with a session; returns (session id, csrf token).
async fn login(app: &Router, name: &str) -> (String, String) {
    let a = send(
        app,
        Method::POST,
        "/api/login",
        Req {
            body: login_body(name, PASSWORD),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    (
        a.cookie_value("onemap_session"),
        a.json()["csrf"].as_str().unwrap().to_owned(),
    )
}

async fn me(app: &Router, session: &str) -> Answer {
    send(
        app,
        Method::GET,
        "/api/me",
        Req {
            cookies: vec![("onemap_session", session)],
            ..Req::default()
        },
    )
    .await
}

async fn audit_actions(db: &TestDb) -> Vec<String> {
    db.client()
        .await
        .query("SELECT action FROM onemap.audit ORDER BY seq", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn a_session_login_sets_an_httponly_session_cookie_and_a_readable_csrf_cookie() {
    let w = world(5, Duration::from_secs(300)).await;
    let a = send(
        &w.app,
        Method::POST,
        "/api/login",
        Req {
            body: login_body("zhang.wei", PASSWORD),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let body = a.json();
    assert_eq!(body["user"]["name"], "zhang.wei");
    assert_eq!(body["user"]["department"], "zrzy");
    assert!(body.get("token").is_none(), "no bearer token: {body}");
    let session = a.set_cookie("onemap_session").unwrap();
    let csrf = a.set_cookie("onemap_csrf").unwrap();
    for flag in [
        "; Path=/",
        "; HttpOnly",
        "; SameSite=Strict",
        // The idle timeout (12 h): renewed while used, never past the 7 days.
        "; Max-Age=43200",
    ] {
        assert!(session.contains(flag), "{session} lacks {flag}");
    }
    assert!(!session.contains("Secure"), "plain http: {session}");
    assert!(
        csrf.contains("; SameSite=Strict") && csrf.contains("; Path=/"),
        "{csrf}"
    );
    assert!(
        !csrf.contains("HttpOnly"),
        "the viewer must read it: {csrf}"
    );
    assert_eq!(
        a.cookie_value("onemap_csrf"),
        body["csrf"].as_str().unwrap()
    );
    let id = a.cookie_value("onemap_session");
    assert_eq!(id.len(), 43);
    assert_ne!(id, body["csrf"].as_str().unwrap());

    // The session is the user, on the API and the tiles' catalog alike.
    let me = me(&w.app, &id).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["user"]["name"], "zhang.wei");
    let layer = send(
        &w.app,
        Method::GET,
        "/api/layers/ses_layer",
        Req {
            cookies: vec![("onemap_session", &id)],
            ..Req::default()
        },
    )
    .await;
    assert_eq!(layer.status, StatusCode::OK, "{}", layer.body);
    // Only digests are stored.
    let stored: String =
        w.db.client()
            .await
            .query_one(
                "SELECT session_sha256 || csrf_sha256 FROM onemap.sessions",
                &[],
            )
            .await
            .unwrap()
            .get(0);
    assert!(!stored.contains(&id) && !stored.contains(body["csrf"].as_str().unwrap()));

    // Over https (as a proxy says), both cookies are Secure.
    let a = send(
        &w.app,
        Method::POST,
        "/api/login",
        Req {
            body: login_body("zhang.wei", PASSWORD),
            https: true,
            ..Req::default()
        },
    )
    .await;
    assert!(a
        .set_cookie("onemap_session")
        .unwrap()
        .ends_with("; Secure"));
    assert!(a.set_cookie("onemap_csrf").unwrap().ends_with("; Secure"));
    let actions = audit_actions(&w.db).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "session.create").count(),
        2,
        "{actions:?}"
    );
}

#[tokio::test]
async fn every_login_gets_a_fresh_session_id_and_the_one_presented_before_stops_working() {
    let w = world(5, Duration::from_secs(300)).await;
    let (first, first_csrf) = login(&w.app, "zhang.wei").await;
    let a = send(
        &w.app,
        Method::POST,
        "/api/login",
        Req {
            cookies: vec![("onemap_session", &first), ("onemap_csrf", &first_csrf)],
            body: login_body("zhang.wei", PASSWORD),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let second = a.cookie_value("onemap_session");
    assert_ne!(second, first);
    assert_ne!(a.json()["csrf"].as_str().unwrap(), first_csrf);
    // The old id is over (its row deleted): refused, and its cookies cleared. (The browser
    // that logged in again holds the new cookies: only a copied cookie gets here.)
    let old = me(&w.app, &first).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED, "{}", old.body);
    assert!(old
        .set_cookie("onemap_session")
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(
        me(&w.app, &second).await.json()["user"]["name"],
        "zhang.wei"
    );
    let open: i64 =
        w.db.client()
            .await
            .query_one("SELECT count(*) FROM onemap.sessions", &[])
            .await
            .unwrap()
            .get(0);
    assert_eq!(open, 1);
}

#[tokio::test]
async fn unsafe_cookie_requests_need_the_sessions_csrf_token_and_bearer_requests_do_not() {
    let w = world(5, Duration::from_secs(300)).await;
    let (session, csrf) = login(&w.app, "zhang.wei").await;
    let (_, other_csrf) = login(&w.app, "wang.fang").await;
    let uri = "/api/layers/ses_layer/access";
    let body = || Some(r#"{"level":"restricted","shared_with":["sthj"]}"#.to_owned());
    for (echoed, label) in [
        (None, "without a token"),
        (Some("not-a-token"), "with garbage"),
        (Some(other_csrf.as_str()), "with another session's token"),
        (Some(session.as_str()), "with the session id itself"),
    ] {
        let a = send(
            &w.app,
            Method::PUT,
            uri,
            Req {
                cookies: vec![("onemap_session", &session), ("onemap_csrf", &csrf)],
                csrf: echoed,
                body: body(),
                ..Req::default()
            },
        )
        .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{label}: {}", a.body);
        assert!(
            a.json()["error"].as_str().unwrap().contains("CSRF"),
            "{label}"
        );
    }
    let a = send(
        &w.app,
        Method::PUT,
        uri,
        Req {
            cookies: vec![("onemap_session", &session), ("onemap_csrf", &csrf)],
            csrf: Some(&csrf),
            body: body(),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // GETs need none.
    let a = send(
        &w.app,
        Method::GET,
        "/api/layers/ses_layer",
        Req {
            cookies: vec![("onemap_session", &session)],
            ..Req::default()
        },
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    // A bearer token needs no CSRF token, even next to a session cookie.
    let mut client = w.db.client().await;
    let (_, token) = tokens::create(&mut client, &Acting::operator("test"), "zhang.wei", "t")
        .await
        .unwrap();
    let a = send(
        &w.app,
        Method::PUT,
        uri,
        Req {
            bearer: Some(&token),
            body: body(),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let actions = audit_actions(&w.db).await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "auth.csrf_rejected")
            .count(),
        4,
        "{actions:?}"
    );
}

#[tokio::test]
async fn logout_ends_the_session_and_clears_both_cookies() {
    let w = world(5, Duration::from_secs(300)).await;
    let (session, csrf) = login(&w.app, "zhang.wei").await;
    let cookies = vec![
        ("onemap_session", session.as_str()),
        ("onemap_csrf", csrf.as_str()),
    ];
    let a = send(
        &w.app,
        Method::POST,
        "/api/logout",
        Req {
            cookies: cookies.clone(),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::FORBIDDEN,
        "logout needs the CSRF token too"
    );
    let a = send(
        &w.app,
        Method::POST,
        "/api/logout",
        Req {
            cookies: cookies.clone(),
            csrf: Some(&csrf),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    for name in ["onemap_session", "onemap_csrf"] {
        let c = a.set_cookie(name).unwrap();
        assert!(
            c.starts_with(&format!("{name}=;")) && c.contains("Max-Age=0"),
            "{c}"
        );
    }
    // The row is gone: the id is refused like one never issued (the browser's cookies were
    // cleared by the logout, so only a copied cookie gets here).
    let after = me(&w.app, &session).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "{}", after.body);
    let rows: i64 =
        w.db.client()
            .await
            .query_one("SELECT count(*) FROM onemap.sessions", &[])
            .await
            .unwrap()
            .get(0);
    assert_eq!(rows, 0, "logout deletes the session's row");
    // Unsafe requests with the ended session: 401.
    let a = send(
        &w.app,
        Method::POST,
        "/api/logout",
        Req {
            cookies,
            csrf: Some(&csrf),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(audit_actions(&w.db)
        .await
        .contains(&"session.end".to_owned()));
}

#[tokio::test]
async fn an_expired_session_is_cleared_and_safe_requests_continue_anonymous() {
    let w = world(5, Duration::from_secs(300)).await;
    let client = w.db.client().await;
    let (idle, idle_csrf) = login(&w.app, "zhang.wei").await;
    let (old, _) = login(&w.app, "wang.fang").await;
    let (fresh, _) = login(&w.app, "wang.fang").await;
    assert_eq!(me(&w.app, &fresh).await.json()["user"]["name"], "wang.fang");
    // Idle for 13 hours; the other logged in 8 days ago and active since.
    client
        .batch_execute(
            "UPDATE onemap.sessions SET last_seen_at = now() - interval '13 hours'
             WHERE user_id = (SELECT id FROM onemap.users WHERE name = 'zhang.wei');
             UPDATE onemap.sessions SET created_at = now() - interval '8 days'
             WHERE user_id = (SELECT id FROM onemap.users WHERE name = 'wang.fang');",
        )
        .await
        .unwrap();
    for session in [&idle, &old, &fresh] {
        let a = me(&w.app, session).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.json()["user"], Value::Null);
        assert!(a
            .set_cookie("onemap_session")
            .unwrap()
            .contains("Max-Age=0"));
        assert!(a.set_cookie("onemap_csrf").unwrap().contains("Max-Age=0"));
    }
    // A restricted layer is gone for them, as for anyone anonymous.
    let a = send(
        &w.app,
        Method::GET,
        "/api/layers/ses_layer",
        Req {
            cookies: vec![("onemap_session", &idle)],
            ..Req::default()
        },
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = send(
        &w.app,
        Method::PUT,
        "/api/layers/ses_layer/access",
        Req {
            cookies: vec![("onemap_session", &idle)],
            csrf: Some(&idle_csrf),
            body: Some(r#"{"level":"public"}"#.to_owned()),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    assert!(a
        .set_cookie("onemap_session")
        .unwrap()
        .contains("Max-Age=0"));
    // A fresh login works from the expired browser.
    let a = send(
        &w.app,
        Method::POST,
        "/api/login",
        Req {
            cookies: vec![("onemap_session", &idle)],
            body: login_body("zhang.wei", PASSWORD),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

#[tokio::test]
async fn a_forged_session_cookie_is_refused_with_401_and_cleared() {
    let w = world(5, Duration::from_secs(300)).await;
    let forged = "A".repeat(43);
    for cookie in [forged.as_str(), "garbage", "' OR '1'='1"] {
        for uri in ["/api/me", "/", "/api/layers"] {
            let a = send(
                &w.app,
                Method::GET,
                uri,
                Req {
                    cookies: vec![("onemap_session", cookie)],
                    ..Req::default()
                },
            )
            .await;
            assert_eq!(
                a.status,
                StatusCode::UNAUTHORIZED,
                "{uri} {cookie}: {}",
                a.body
            );
            assert!(a
                .set_cookie("onemap_session")
                .unwrap()
                .contains("Max-Age=0"));
            assert!(a.headers.contains_key("content-security-policy"));
        }
    }
    let actions = audit_actions(&w.db).await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "auth.session_rejected")
            .count(),
        9
    );
}

#[tokio::test]
async fn failed_logins_are_limited_per_address_and_per_name_then_allowed_after_the_window() {
    let window = Duration::from_millis(1500);
    let w = world(3, window).await;
    let attempt = |name: &'static str, password: &'static str, from: &'static str| {
        let app = w.app.clone();
        async move {
            send(
                &app,
                Method::POST,
                "/api/login",
                Req {
                    body: login_body(name, password),
                    from: Some(from),
                    ..Req::default()
                },
            )
            .await
        }
    };
    for _ in 0..3 {
        let a = attempt("zhang.wei", "wrong password!", "10.0.0.1:4000").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    let started = std::time::Instant::now();
    // The right password no longer helps, from the address or for the name.
    for (name, from) in [
        ("zhang.wei", "10.0.0.1:4001"),
        ("wang.fang", "10.0.0.1:4002"),
        ("zhang.wei", "10.9.9.9:4003"),
    ] {
        let a = attempt(name, PASSWORD, from).await;
        assert_eq!(
            a.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{name} from {from}"
        );
        let retry: u64 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=2).contains(&retry), "Retry-After {retry}");
        assert!(a.json()["error"].is_string());
    }
    // Another name from another address is not affected.
    let a = attempt("wang.fang", PASSWORD, "10.9.9.9:4004").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);

    tokio::time::sleep(window.saturating_sub(started.elapsed()) + Duration::from_millis(100)).await;
    let a = attempt("zhang.wei", PASSWORD, "10.0.0.1:4005").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);

    let client = w.db.client().await;
    let rows = client
        .query(
            "SELECT target, client_addr FROM onemap.audit WHERE action = 'login.throttled' \
             ORDER BY seq",
            &[],
        )
        .await
        .unwrap();
    let throttled: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        throttled,
        [
            ("zhang.wei".to_owned(), "10.0.0.1:4001".to_owned()),
            ("wang.fang".to_owned(), "10.0.0.1:4002".to_owned()),
            ("zhang.wei".to_owned(), "10.9.9.9:4003".to_owned()),
        ]
    );
}

#[tokio::test]
async fn every_response_carries_a_content_security_policy_admitting_only_the_viewers_import_map() {
    let w = world(5, Duration::from_secs(300)).await;
    let index =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../viewer/index.html"))
            .unwrap();
    assert!(index.contains(r#"<script type="importmap">"#));
    for uri in ["/", "/api/layers", "/style.json", "/health", "/api/nothing"] {
        let a = send(&w.app, Method::GET, uri, Req::default()).await;
        let csp = a.headers["content-security-policy"].to_str().unwrap();
        for part in [
            "default-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "worker-src 'self' blob:",
        ] {
            assert!(csp.contains(part), "{uri}: {csp} lacks {part}");
        }
        let scripts = csp
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap();
        assert!(!scripts.contains("unsafe-inline"), "{scripts}");
        assert!(scripts.contains("'sha256-"), "{scripts}");
        assert_eq!(a.headers["x-frame-options"], "DENY");
    }
}

#[tokio::test]
async fn the_servers_read_pool_cannot_insert_update_or_delete_in_any_onemap_table() {
    let w = world(5, Duration::from_secs(300)).await;
    let conn = w.state.read_pool().get().await.unwrap();
    let role: String = conn
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(role, "onemap_reader");
    // Every table of the schema, partitions included.
    let tables: Vec<String> =
        w.db.client()
            .await
            .query(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables \
             WHERE schemaname = 'onemap' ORDER BY 1",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert!(tables.len() >= 15, "{tables:?}");
    let mut refused = 0;
    for table in &tables {
        // Reading works.
        conn.query(&format!("SELECT 1 FROM {table} LIMIT 1"), &[])
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        for statement in [
            format!("INSERT INTO {table} DEFAULT VALUES"),
            format!("DELETE FROM {table}"),
            format!("TRUNCATE {table}"),
        ] {
            let err = conn
                .batch_execute(&statement)
                .await
                .expect_err(&format!("{statement} must be refused"));
            assert_eq!(
                err.code(),
                Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
                "{statement}: {err}"
            );
            refused += 1;
        }
        let column: String =
            w.db.client()
                .await
                .query_one(
                    "SELECT quote_ident(attname) FROM pg_attribute \
                 WHERE attrelid = $1::text::regclass AND attnum > 0 AND NOT attisdropped \
                 AND attgenerated = '' ORDER BY attnum LIMIT 1",
                    &[table],
                )
                .await
                .unwrap()
                .get(0);
        let statement = format!("UPDATE {table} SET {column} = {column} WHERE false");
        let err = conn.batch_execute(&statement).await.unwrap_err();
        assert_eq!(
            err.code(),
            Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
            "{statement}: {err}"
        );
        refused += 1;
    }
    eprintln!("{refused} writes refused on {} tables", tables.len());
    // The write pool can do what the server writes, and logins went through it.
    let (session, _) = login(&w.app, "zhang.wei").await;
    assert_eq!(
        me(&w.app, &session).await.json()["user"]["name"],
        "zhang.wei"
    );
}

async fn session_count(db: &TestDb, user: &str) -> i64 {
    db.client()
        .await
        .query_one(
            "SELECT count(*) FROM onemap.sessions s JOIN onemap.users u ON u.id = s.user_id \
             WHERE u.name = $1",
            &[&user],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn expired_sessions_are_deleted_by_the_prune_and_by_the_running_server() {
    let w = world_with(SessionConfig {
        prune_every: Duration::from_millis(300),
        ..SessionConfig::default()
    })
    .await;
    let client = w.db.client().await;
    let (idle, _) = login(&w.app, "zhang.wei").await;
    let (old, _) = login(&w.app, "wang.fang").await;
    let (fresh, _) = login(&w.app, "wang.fang").await;
    let age = |sql: &'static str| {
        let client = &client;
        async move { client.batch_execute(sql).await.unwrap() }
    };
    // Idle 13 hours; logged in 8 days ago; both past the grace of the prune.
    age(
        "UPDATE onemap.sessions SET last_seen_at = now() - interval '13 hours'
         WHERE user_id = (SELECT id FROM onemap.users WHERE name = 'zhang.wei')",
    )
    .await;
    let old_row: String = client
        .query_one(
            "SELECT id::text FROM onemap.sessions ORDER BY id LIMIT 1 OFFSET 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    client
        .execute(
            "UPDATE onemap.sessions SET created_at = now() - interval '8 days' WHERE id = $1::text::bigint",
            &[&old_row],
        )
        .await
        .unwrap();
    // Just expired (within the grace): refused as expired, but kept for now.
    let (recent, _) = login(&w.app, "zhang.wei").await;
    age(
        "UPDATE onemap.sessions SET last_seen_at = now() - interval '12 hours 1 minute'
         WHERE id = (SELECT max(id) FROM onemap.sessions)",
    )
    .await;
    let deleted = onemap_access::sessions::prune(
        &client,
        onemap_access::sessions::SessionLimits::default(),
        onemap_tile_server::PRUNE_GRACE,
    )
    .await
    .unwrap();
    assert_eq!(deleted, 2, "the idle one and the old one");
    for (session, status) in [
        (&idle, StatusCode::UNAUTHORIZED),
        (&old, StatusCode::UNAUTHORIZED),
        (&recent, StatusCode::OK),
    ] {
        assert_eq!(me(&w.app, session).await.status, status);
    }
    assert_eq!(me(&w.app, &fresh).await.json()["user"]["name"], "wang.fang");

    // The server deletes them by itself while it runs.
    age(
        "UPDATE onemap.sessions SET last_seen_at = now() - interval '13 hours'
         WHERE user_id = (SELECT id FROM onemap.users WHERE name = 'zhang.wei')",
    )
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(onemap_tile_server::serve(
        listener,
        w.state.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    let mut left = i64::MAX;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = session_count(&w.db, "zhang.wei").await;
        if left == 0 {
            break;
        }
    }
    assert_eq!(left, 0, "the running server pruned the idle session");
    assert_eq!(session_count(&w.db, "wang.fang").await, 1);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_session_in_use_renews_its_cookies_for_the_idle_timeout_but_not_past_its_lifetime() {
    let w = world(5, Duration::from_secs(300)).await;
    let (session, csrf) = login(&w.app, "zhang.wei").await;
    let client = w.db.client().await;
    let cookies = vec![
        ("onemap_session", session.as_str()),
        ("onemap_csrf", csrf.as_str()),
    ];
    // Seen within the minute: nothing to renew.
    let a = send(
        &w.app,
        Method::GET,
        "/api/me",
        Req {
            cookies: cookies.clone(),
            ..Req::default()
        },
    )
    .await;
    assert!(a.set_cookie("onemap_session").is_none(), "{:?}", a.headers);
    // Seen two hours ago: both cookies live 12 hours from now again.
    client
        .batch_execute("UPDATE onemap.sessions SET last_seen_at = now() - interval '2 hours'")
        .await
        .unwrap();
    let a = send(
        &w.app,
        Method::GET,
        "/api/me",
        Req {
            cookies: cookies.clone(),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(a.json()["user"]["name"], "zhang.wei");
    assert_eq!(a.cookie_value("onemap_session"), session);
    assert_eq!(a.cookie_value("onemap_csrf"), csrf);
    for name in ["onemap_session", "onemap_csrf"] {
        assert!(
            a.set_cookie(name).unwrap().contains("; Max-Age=43200;"),
            "{:?}",
            a.set_cookie(name)
        );
    }
    assert!(a.set_cookie("onemap_session").unwrap().contains("HttpOnly"));
    // Near the end of its 7 days: only what is left of them.
    client
        .batch_execute(
            "UPDATE onemap.sessions SET last_seen_at = now() - interval '2 hours', \
             created_at = now() - interval '7 days' + interval '1 hour'",
        )
        .await
        .unwrap();
    let a = send(
        &w.app,
        Method::GET,
        "/api/me",
        Req {
            cookies,
            ..Req::default()
        },
    )
    .await;
    let age: u64 = a
        .set_cookie("onemap_session")
        .unwrap()
        .split("Max-Age=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3590..=3600).contains(&age), "Max-Age {age}");
}

#[tokio::test]
async fn disabling_a_user_or_changing_a_password_ends_that_users_sessions_and_nothing_else() {
    let w = world(5, Duration::from_secs(300)).await;
    let mut client = w.db.client().await;
    let operator = Acting::operator("test");
    let (zhang_a, _) = login(&w.app, "zhang.wei").await;
    let (zhang_b, _) = login(&w.app, "zhang.wei").await;
    let (wang, _) = login(&w.app, "wang.fang").await;
    let (_, zhang_token) = tokens::create(&mut client, &operator, "zhang.wei", "script")
        .await
        .unwrap();
    let (_, wang_token) = tokens::create(&mut client, &operator, "wang.fang", "script")
        .await
        .unwrap();
    let bearer_me = |token: String| {
        let app = w.app.clone();
        async move {
            send(
                &app,
                Method::GET,
                "/api/me",
                Req {
                    bearer: Some(&token),
                    ..Req::default()
                },
            )
            .await
        }
    };

    users::set_password(&mut client, &operator, "zhang.wei", "a new password!")
        .await
        .unwrap();
    for s in [&zhang_a, &zhang_b] {
        assert_eq!(me(&w.app, s).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(session_count(&w.db, "zhang.wei").await, 0);
    assert_eq!(me(&w.app, &wang).await.json()["user"]["name"], "wang.fang");
    assert_eq!(
        bearer_me(zhang_token.clone()).await.json()["user"]["name"],
        "zhang.wei",
        "tokens survive"
    );

    users::set_disabled(&mut client, &operator, "wang.fang", true)
        .await
        .unwrap();
    assert_eq!(me(&w.app, &wang).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(session_count(&w.db, "wang.fang").await, 0);
    assert_eq!(
        bearer_me(wang_token.clone()).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(bearer_me(zhang_token).await.status, StatusCode::OK);
    // Not revoked: re-enabled, the token works again.
    users::set_disabled(&mut client, &operator, "wang.fang", false)
        .await
        .unwrap();
    assert_eq!(
        bearer_me(wang_token).await.json()["user"]["name"],
        "wang.fang"
    );
    let revoked: i64 = client
        .query_one(
            "SELECT count(*) FROM onemap.tokens WHERE revoked_at IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(revoked, 0);
    let details: Vec<Value> = client
        .query(
            "SELECT details FROM onemap.audit WHERE action IN ('user.passwd', 'user.disable') ORDER BY seq",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        details,
        [
            serde_json::json!({ "sessions_ended": 2 }),
            serde_json::json!({ "sessions_ended": 1 })
        ]
    );
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_a_trusted_proxy() {
    let w = world_with(SessionConfig {
        login_failures: 2,
        trusted_proxies: onemap_tile_server::TrustedProxies::parse("10.0.0.0/8").unwrap(),
        ..SessionConfig::default()
    })
    .await;
    let attempt = |name: &'static str, from: &'static str, forwarded: &'static str| {
        let app = w.app.clone();
        async move {
            let headers = if forwarded.is_empty() {
                vec![]
            } else {
                vec![("x-forwarded-for", forwarded)]
            };
            send(
                &app,
                Method::POST,
                "/api/login",
                Req {
                    body: login_body(name, "wrong password!"),
                    from: Some(from),
                    headers,
                    ..Req::default()
                },
            )
            .await
            .status
        }
    };
    // From an untrusted peer the header is the client's own claim: a fresh spoofed address per
    // attempt does not escape the limit on the socket's address.
    assert_eq!(
        attempt("a1", "203.0.113.5:1000", "1.1.1.1").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        attempt("a2", "203.0.113.5:1001", "2.2.2.2").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        attempt("a3", "203.0.113.5:1002", "3.3.3.3").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Through the trusted proxy each client has its own count, and the proxy is not blamed…
    for name in ["b1", "b2"] {
        assert_eq!(
            attempt(name, "10.0.0.2:5000", "6.6.6.6, 198.51.100.7").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        attempt("b3", "10.0.0.2:5000", "198.51.100.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        attempt("b4", "10.0.0.2:5000", "198.51.100.8, 10.0.0.9").await,
        StatusCode::UNAUTHORIZED
    );
    // …and what the client wrote left of the real address does not move it elsewhere.
    assert_eq!(
        attempt("b5", "10.0.0.2:5000", "9.9.9.9, 198.51.100.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );

    // The audit trail records the same address.
    let rows =
        w.db.client()
            .await
            .query(
                "SELECT target, client_addr FROM onemap.audit \
             WHERE action IN ('login.failure', 'login.throttled') ORDER BY seq",
                &[],
            )
            .await
            .unwrap();
    let seen: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let expected: Vec<(String, String)> = [
        ("a1", "203.0.113.5:1000"),
        ("a2", "203.0.113.5:1001"),
        ("a3", "203.0.113.5:1002"),
        ("b1", "198.51.100.7"),
        ("b2", "198.51.100.7"),
        ("b3", "198.51.100.7"),
        ("b4", "198.51.100.8"),
        ("b5", "198.51.100.7"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(seen, expected);
}
