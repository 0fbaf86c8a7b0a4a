//! Access control through the HTTP server: an authorization matrix generated from the
//! router's own route list (every route × every role × every access level), SQL-injection
//! probes on every parameter of every route, and the bearer-token life cycle. The matrix runs
//! twice: with bearer tokens and with the viewer's cookie sessions (signed in through
//! `POST /api/login`, the CSRF token echoed on unsafe methods); without that echo every unsafe
//! route refuses a cookie caller.

mod helpers;

use std::collections::HashMap;
use std::path::Path;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use helpers::http::{self, encode, Credential, Req};
use helpers::{fixture, TestDb};
use onemap_access::{layers, publish, tokens, users, Acting, Role};
use onemap_ingest::IngestRequest;
use onemap_tile_server::{app, route_list, AppState, Guard, RouteInfo, ServerConfig};
use serde_json::Value;
use tower::ServiceExt;

/// The owner department of every test layer, a department it is shared with, and one it is not.
const OWNER: &str = "zrzy";
const SHARED: &str = "sthj";
const OTHER: &str = "lcj";

/// The password of every test user (for the cookie sessions).
const PASSWORD: &str = "correct horse battery";

/// The test layers, one per access level; their ids never occur in one another.
const LEVELS: [(&str, &str); 3] = [
    ("acc_public", "public"),
    ("acc_internal", "internal"),
    ("acc_restricted", "restricted"),
];

/// The callers: a name, and the department and role of their user (none for anonymous).
const CALLERS: [(&str, Option<(&str, Role)>); 7] = [
    ("anonymous", None),
    ("owner_viewer", Some((OWNER, Role::Viewer))),
    ("owner_editor", Some((OWNER, Role::Editor))),
    ("owner_admin", Some((OWNER, Role::Admin))),
    ("owner_auditor", Some((OWNER, Role::Auditor))),
    ("other_viewer", Some((OTHER, Role::Viewer))),
    ("shared_viewer", Some((SHARED, Role::Viewer))),
];

/// What the rules say, written out independently of `authz::can_read`.
fn may_read(caller: &str, level: &str) -> bool {
    match level {
        "public" => true,
        "internal" => caller != "anonymous",
        "restricted" => caller.starts_with("owner_") || caller == "shared_viewer",
        _ => unreachable!(),
    }
}

/// Publishing and changing access: editors of the owner department, and admins.
fn may_write(caller: &str) -> bool {
    caller == "owner_editor" || caller == "owner_admin"
}

/// Changing the enforcement rules: editors of zrzy (the owner here) or sthwb, and admins.
fn may_edit_rules(caller: &str) -> bool {
    caller == "owner_editor" || caller == "owner_admin"
}

fn may_audit(caller: &str) -> bool {
    caller == "owner_admin" || caller == "owner_auditor"
}

struct World {
    db: TestDb,
    app: Router,
    /// Bearer token of each caller but anonymous.
    tokens: HashMap<&'static str, String>,
    /// Cookie session of each caller but anonymous, signed in through `POST /api/login`.
    sessions: HashMap<&'static str, Credential>,
}

/// How the matrix presents a caller's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Bearer,
    Cookie,
}

impl World {
    /// The credential of `caller` (anonymous for the public, whatever `via`).
    fn credential(&self, caller: &str, via: Via) -> Credential {
        match via {
            Via::Bearer => Credential::from_token(self.tokens.get(caller).map(String::as_str)),
            Via::Cookie => self
                .sessions
                .get(caller)
                .cloned()
                .unwrap_or(Credential::Anonymous),
        }
    }
}

async fn world() -> World {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let operator = Acting::operator("test");
    for (layer, level) in LEVELS {
        publish::publish(
            &mut client,
            &operator,
            &IngestRequest {
                path: fixture("tiles/parcels_4326.geojson"),
                layer: layer.into(),
                department: OWNER.into(),
                year: Some(2024),
                ..IngestRequest::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("publishing {layer}: {e}"));
        let share = [SHARED.to_owned()];
        layers::set_access(&mut client, &operator, layer, level, Some(&share))
            .await
            .unwrap();
    }
    let mut tokens = HashMap::new();
    for (name, user) in CALLERS {
        let Some((department, role)) = user else {
            continue;
        };
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
        let (_, token) = tokens::create(&mut client, &operator, name, "test")
            .await
            .unwrap();
        tokens.insert(name, token);
    }
    // One upload job, asked for by the owner's editor: GET /api/jobs/1.
    let editor = tokens::resolve(&client, &tokens["owner_editor"])
        .await
        .unwrap()
        .unwrap();
    onemap_jobs::enqueue(
        &client,
        &Acting::new(editor, None),
        &onemap_jobs::JobRequest {
            layer: "acc_public".into(),
            department: OWNER.into(),
            ..onemap_jobs::JobRequest::default()
        },
        &onemap_jobs::JobFile {
            path: fixture("tiles/parcels_4326.geojson"),
            original_name: None,
            upload: false,
        },
    )
    .await
    .unwrap();
    let config = ServerConfig {
        database_url: db.url.clone(),
        viewer_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../viewer"),
        pool_size: 4,
        // The cache is on: authorization must happen before it is consulted.
        tile_cache_mb: 8,
    };
    let app = app(AppState::new(&config).await.unwrap());
    let mut sessions = HashMap::new();
    for name in tokens.keys() {
        sessions.insert(*name, http::login_session(&app, name, PASSWORD).await);
    }
    World {
        db,
        app,
        tokens,
        sessions,
    }
}

/// Sends a request with an optional bearer token (anonymous without one).
async fn send(
    app: &Router,
    method: &Method,
    uri: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (StatusCode, String) {
    http::call(app, method, uri, &Credential::from_token(token), body).await
}

/// Uploads the small test parcels as a multipart form (a new version, year 2026) as `who`
/// (with the CSRF header when `with_csrf` and `who` is a session).
async fn send_upload(
    app: &Router,
    uri: &str,
    who: &Credential,
    with_csrf: bool,
) -> (StatusCode, String) {
    let file = std::fs::read_to_string(fixture("tiles/parcels_4326.geojson")).unwrap();
    let body = format!(
        "--XBOUNDARYX\r\nContent-Disposition: form-data; name=\"year\"\r\n\r\n2026\r\n\
         --XBOUNDARYX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../etc/parcels.geojson\"\r\n\
         Content-Type: application/geo+json\r\n\r\n{file}\r\n--XBOUNDARYX--\r\n"
    );
    let a = http::send(
        app,
        Method::POST,
        uri,
        Req {
            body: Some(body),
            content_type: Some("multipart/form-data; boundary=XBOUNDARYX"),
            ..who.req(&Method::POST, with_csrf)
        },
    )
    .await;
    (a.status, a.body)
}

/// A concrete URI for a route: `{id}`/`{layer}` → `layer`, tile coordinates → the z0 tile,
/// any `override_` parameter replaced by its (encoded) value.
fn fill(route: &RouteInfo, layer: &str, override_: Option<(&str, &str)>) -> String {
    let mut uri = String::new();
    for segment in route.path.split('/').skip(1) {
        uri.push('/');
        let Some(param) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
            uri.push_str(segment);
            continue;
        };
        let value = match (override_, param) {
            (Some((p, v)), _) if p == param => encode(v),
            (_, "id" | "layer") => layer.to_owned(),
            (_, "z" | "x" | "y") => "0".to_owned(),
            // The job world() queues as owner_editor (the first of its database).
            (_, "job") => "1".to_owned(),
            // A clue's photo (the clue id itself is a layer id here: a 400 for everyone who
            // may reach the ledger).
            (_, "photo") => "1".to_owned(),
            (_, other) => panic!(
                "route {} has a path parameter {{{other}}} this test does not know: \
                 give it a sample value in fill()",
                route.path
            ),
        };
        uri.push_str(&value);
    }
    let mut query: Vec<(String, String)> = Vec::new();
    if route.guard == Guard::LayerQuery {
        query.push(("layer".into(), layer.into()));
    }
    if let Some((p, v)) = override_ {
        if route.query.contains(&p) {
            query.retain(|(k, _)| k != p);
            query.push((p.into(), encode(v)));
        }
    }
    for (i, (k, v)) in query.iter().enumerate() {
        uri.push(if i == 0 { '?' } else { '&' });
        uri.push_str(&format!("{k}={v}"));
    }
    uri
}

#[tokio::test]
async fn every_route_answers_every_role_for_every_access_level_as_the_rules_say() {
    let w = world().await;
    let routes = route_list();
    assert!(
        routes.len() >= 10,
        "the route list looks truncated: {routes:?}"
    );
    let mut checked = 0;
    let mut failures = Vec::new();
    for (route, via) in routes
        .iter()
        .flat_map(|r| [(r, Via::Bearer), (r, Via::Cookie)])
    {
        for (caller, _) in CALLERS {
            let who = w.credential(caller, via);
            match route.guard {
                Guard::Layer => {
                    for (layer, level) in LEVELS {
                        let uri = fill(route, layer, None);
                        let (status, body) =
                            http::call(&w.app, &route.method, &uri, &who, None).await;
                        let ok = if may_read(caller, level) {
                            status == StatusCode::OK || status == StatusCode::NO_CONTENT
                        } else {
                            status == StatusCode::NOT_FOUND
                        };
                        checked += 1;
                        if !ok {
                            failures.push(format!(
                                "{caller} ({via:?}) {uri} ({level}): {status} {body:.200}"
                            ));
                        }
                    }
                }
                Guard::LayerQuery => {
                    for (layer, level) in LEVELS {
                        // The layer named as the subject, then as the zone of a public one.
                        let as_subject = fill(route, layer, None);
                        let as_zone = format!(
                            "{}&zone_layer={layer}&zone=1",
                            fill(route, "acc_public", None)
                        );
                        for uri in [as_subject, as_zone] {
                            let (status, body) =
                                http::call(&w.app, &route.method, &uri, &who, None).await;
                            // Allowed: past the authorization (the trend itself may still
                            // refuse this one-year test layer with a 400).
                            let ok = if may_read(caller, level) {
                                status != StatusCode::NOT_FOUND && !status.is_server_error()
                            } else {
                                status == StatusCode::NOT_FOUND
                            };
                            checked += 1;
                            if !ok {
                                failures.push(format!(
                                    "{caller} ({via:?}) {uri} ({level}): {status} {body:.200}"
                                ));
                            }
                        }
                    }
                }
                Guard::LayerWrite => {
                    for (layer, level) in LEVELS {
                        let uri = fill(route, layer, None);
                        // Sets what the layer already has: allowed callers change nothing.
                        let body = serde_json::json!({ "level": level, "shared_with": [SHARED] })
                            .to_string();
                        let (status, text) =
                            http::call(&w.app, &route.method, &uri, &who, Some(&body)).await;
                        let expected = if !may_read(caller, level) {
                            StatusCode::NOT_FOUND
                        } else if may_write(caller) {
                            StatusCode::OK
                        } else {
                            StatusCode::FORBIDDEN
                        };
                        checked += 1;
                        if status != expected {
                            failures.push(format!(
                                "{caller} ({via:?}) {} {uri} ({level}): {status}, not {expected}: {text:.200}",
                                route.method
                            ));
                        }
                    }
                }
                Guard::Catalog => {
                    let uri = fill(route, "", None);
                    let (status, body) = http::call(&w.app, &route.method, &uri, &who, None).await;
                    checked += 1;
                    if status != StatusCode::OK {
                        failures.push(format!("{caller} ({via:?}) {uri}: {status}"));
                    }
                    for (layer, level) in LEVELS {
                        if body.contains(layer) != may_read(caller, level) {
                            failures.push(format!(
                                "{caller} ({via:?}) {uri}: {layer} ({level}) listed = {}",
                                body.contains(layer)
                            ));
                        }
                    }
                }
                Guard::Open => {
                    let uri = fill(route, "", None);
                    let (status, body) = http::call(&w.app, &route.method, &uri, &who, None).await;
                    checked += 1;
                    if status != StatusCode::OK || LEVELS.iter().any(|(l, _)| body.contains(l)) {
                        failures.push(format!("{caller} ({via:?}) {uri}: {status} {body:.200}"));
                    }
                }
                Guard::Audit => {
                    let uri = fill(route, "", None);
                    let (status, body) = http::call(&w.app, &route.method, &uri, &who, None).await;
                    checked += 1;
                    let expected = if may_audit(caller) {
                        StatusCode::OK
                    } else {
                        StatusCode::NOT_FOUND
                    };
                    if status != expected {
                        failures.push(format!("{caller} ({via:?}) {uri}: {status} {body:.200}"));
                    }
                }
                // Signing in and out is tested on its own below.
                Guard::Session => {}
                Guard::Upload => {
                    for (layer, level) in LEVELS {
                        let uri = fill(route, layer, None);
                        let (status, text) = send_upload(&w.app, &uri, &who, true).await;
                        let expected = if !may_read(caller, level) {
                            StatusCode::NOT_FOUND
                        } else if may_write(caller) {
                            StatusCode::ACCEPTED
                        } else {
                            StatusCode::FORBIDDEN
                        };
                        checked += 1;
                        if status != expected {
                            failures.push(format!(
                                "{caller} POST {uri} ({level}): {status}, not {expected}: {text:.200}"
                            ));
                        }
                    }
                }
                Guard::Job => {
                    // Job 1 was asked for by owner_editor: they and admins see it.
                    let uri = fill(route, "", None);
                    let (status, text) = http::call(&w.app, &route.method, &uri, &who, None).await;
                    let expected = if may_write(caller) {
                        StatusCode::OK
                    } else {
                        StatusCode::NOT_FOUND
                    };
                    checked += 1;
                    if status != expected {
                        failures.push(format!(
                            "{caller} ({via:?}) {uri}: {status}, not {expected}: {text:.200}"
                        ));
                    }
                }
                // The ledger is internal: 404 for the public; for signed-in users the lists
                // answer (with what their department may see: tests/tests/ledger.rs) and a
                // clue id that is no number is a 400, never a 5xx.
                Guard::Clues => {
                    let uri = fill(route, "acc_public", None);
                    let body = (route.method == Method::POST).then_some(r#"{"action":"close"}"#);
                    let (status, text) = http::call(&w.app, &route.method, &uri, &who, body).await;
                    let expected = if caller == "anonymous" {
                        StatusCode::NOT_FOUND
                    } else if route.path.contains("{id}") {
                        StatusCode::BAD_REQUEST
                    } else {
                        StatusCode::OK
                    };
                    checked += 1;
                    if status != expected {
                        failures.push(format!(
                            "{caller} ({via:?}) {} {uri}: {status}, not {expected}: {text:.200}",
                            route.method
                        ));
                    }
                }
                Guard::Rules => {
                    // Puts back the rules in force: allowed callers change nothing.
                    let client = w.db.client().await;
                    let current = onemap_enforcement::rules::list(&client).await.unwrap();
                    let body = serde_json::json!({ "rules": current }).to_string();
                    let (status, text) =
                        http::call(&w.app, &route.method, route.path, &who, Some(&body)).await;
                    let expected = if may_edit_rules(caller) {
                        StatusCode::OK
                    } else {
                        StatusCode::FORBIDDEN
                    };
                    checked += 1;
                    if status != expected {
                        failures.push(format!(
                            "{caller} ({via:?}) {} {}: {status}, not {expected}: {text:.200}",
                            route.method, route.path
                        ));
                    }
                }
                Guard::ClueRules => {
                    // Puts back the assignment rules in force: allowed callers change nothing.
                    let client = w.db.client().await;
                    let current = onemap_ledger::rules::list(&client).await.unwrap();
                    let body = serde_json::json!({ "rules": current }).to_string();
                    let (status, text) =
                        http::call(&w.app, &route.method, route.path, &who, Some(&body)).await;
                    // Editors of the coordinating office (none here) and admins.
                    let expected = if caller == "anonymous" {
                        StatusCode::NOT_FOUND
                    } else if caller == "owner_admin" {
                        StatusCode::OK
                    } else {
                        StatusCode::FORBIDDEN
                    };
                    checked += 1;
                    if status != expected {
                        failures.push(format!(
                            "{caller} ({via:?}) {} {}: {status}, not {expected}: {text:.200}",
                            route.method, route.path
                        ));
                    }
                }
                // A guard added after this test was written.
                #[allow(unreachable_patterns)]
                other => failures.push(format!(
                    "{} has a guard this test does not know: {other:?}",
                    route.path
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // 2 ways × 7 callers × (layer routes × 3 levels + the others): make sure the matrix
    // really ran.
    eprintln!(
        "{checked} authorization checks on {} routes, by bearer token and by cookie",
        routes.len()
    );
    assert!(checked >= 2 * 7 * 10, "only {checked} checks ran");
    drop(w.db);
}

#[tokio::test]
async fn unsafe_cookie_requests_without_the_csrf_token_are_refused_on_every_unsafe_route() {
    let w = world().await;
    let rules = onemap_enforcement::rules::list(&w.db.client().await)
        .await
        .unwrap();
    let unsafe_routes: Vec<RouteInfo> = route_list()
        .into_iter()
        .filter(|r| !http::is_safe(&r.method))
        // Signing in ignores the cookie: it replaces the session.
        .filter(|r| r.path != "/api/login")
        .collect();
    assert!(
        unsafe_routes.len() >= 5,
        "the unsafe routes look truncated: {unsafe_routes:?}"
    );
    let mut refused = 0;
    for route in &unsafe_routes {
        for (caller, _) in CALLERS.iter().filter(|(_, user)| user.is_some()) {
            let who = w.credential(caller, Via::Cookie);
            // What an allowed caller would send, so that only the missing token is wrong.
            let body = match route.guard {
                Guard::LayerWrite => Some(
                    serde_json::json!({ "level": "restricted", "shared_with": [] }).to_string(),
                ),
                Guard::Rules => Some(serde_json::json!({ "rules": rules }).to_string()),
                Guard::Clues => Some(r#"{"action":"close"}"#.to_owned()),
                _ => None,
            };
            let uri = fill(route, "acc_public", None);
            let (status, text) = if route.guard == Guard::Upload {
                send_upload(&w.app, &uri, &who, false).await
            } else {
                let a = http::send(
                    &w.app,
                    route.method.clone(),
                    &uri,
                    Req {
                        body,
                        ..who.req(&route.method, false)
                    },
                )
                .await;
                (a.status, a.body)
            };
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{caller} {} {uri} without X-CSRF-Token: {text:.200}",
                route.method
            );
            assert!(text.contains("CSRF"), "{caller} {uri}: {text:.200}");
            refused += 1;
        }
    }
    // Nothing happened: the access levels, the rules, the jobs and the sessions are as they
    // were, and each refusal is in the audit trail.
    let client = w.db.client().await;
    let level: String = client
        .query_one(
            "SELECT access_level FROM onemap.layers WHERE id = 'acc_public'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(level, "public");
    let jobs: i64 = client
        .query_one("SELECT count(*) FROM onemap.ingest_jobs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(jobs, 1, "only the job world() queued");
    for (caller, who) in &w.sessions {
        let (status, body) = http::call(&w.app, &Method::GET, "/api/me", who, None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(caller), "{caller} still signed in: {body}");
    }
    let rejected: i64 = client
        .query_one(
            "SELECT count(*) FROM onemap.audit WHERE action = 'auth.csrf_rejected'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rejected, refused);
    eprintln!(
        "{refused} unsafe cookie requests without the CSRF token refused on {} routes",
        unsafe_routes.len()
    );
}

#[tokio::test]
async fn an_invalid_or_revoked_token_is_refused_with_401_on_every_route() {
    let w = world().await;
    let mut client = w.db.client().await;
    let token = w.tokens["owner_viewer"].clone();
    tokens::revoke(&mut client, &Acting::operator("test"), &token)
        .await
        .unwrap();
    let forged = format!("om_{}", "A".repeat(43));
    for route in route_list() {
        let uri = fill(&route, "acc_public", None);
        for bad in [token.as_str(), forged.as_str(), "not-a-token"] {
            let (status, body) = send(&w.app, &route.method, &uri, Some(bad), None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri} with {bad}: {body}");
            let json: Value = serde_json::from_str(&body).unwrap();
            assert!(json["error"].is_string(), "{body}");
        }
    }
    // Static files go through the same check.
    let (status, _) = send(&w.app, &Method::GET, "/", Some(&forged), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn login_returns_a_working_token_and_logout_revokes_it() {
    let w = world().await;
    let mut client = w.db.client().await;
    users::set_password(
        &mut client,
        &Acting::operator("test"),
        "other_viewer",
        "correct horse battery",
    )
    .await
    .unwrap();
    let (status, _) = send(
        &w.app,
        &Method::POST,
        "/api/login",
        None,
        Some(r#"{"name":"other_viewer","password":"wrong password!"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = send(
        &w.app,
        &Method::POST,
        "/api/login",
        None,
        Some(r#"{"name":"other_viewer","password":"correct horse battery"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = serde_json::from_str::<Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = send(&w.app, &Method::GET, "/api/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    let me: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(me["user"]["name"], "other_viewer");
    assert_eq!(me["user"]["department"], OTHER);
    let (status, _) = send(
        &w.app,
        &Method::GET,
        "/api/layers/acc_internal",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = send(&w.app, &Method::POST, "/api/logout", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(&w.app, &Method::GET, "/api/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = send(&w.app, &Method::POST, "/api/logout", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The auditor reads all of it, as JSON and as CSV.
    let auditor = w.tokens["owner_auditor"].clone();
    let (status, body) = send(
        &w.app,
        &Method::GET,
        "/api/audit?limit=5",
        Some(&auditor),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entries: Vec<Value> = serde_json::from_str(&body).unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "auth.token_rejected",
            "token.revoke",
            "token.create",
            "login.success",
            "login.failure"
        ],
        "newest first"
    );
    let (status, csv) = send(
        &w.app,
        &Method::GET,
        "/api/audit?format=csv",
        Some(&auditor),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.starts_with("seq,at,actor,actor_department,actor_role,client_addr,action,target,details,prev_hash,hash\n"));
    assert!(
        csv.lines()
            .any(|l| l.contains(",login.failure,other_viewer,")),
        "{csv}"
    );
    // The export itself is in the trail: who took it, from where, how much.
    let exported = client
        .query_one(
            "SELECT actor, details FROM onemap.audit WHERE action = 'export.audit.csv'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(exported.get::<_, String>(0), "owner_auditor");
    let details: Value = exported.get(1);
    assert_eq!(details["limit"], 1000);
    assert!(details["rows"].as_u64().unwrap() > 5, "{details}");
    let (status, _) = send(
        &w.app,
        &Method::GET,
        "/api/audit?format=xml",
        Some(&auditor),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let w = world().await;
    for uri in ["/health", "/api/layers", "/api/layers/acc_internal", "/"] {
        let response = w
            .app
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let h = response.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{uri}");
        assert_eq!(h["x-frame-options"], "DENY", "{uri}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{uri}");
    }
}

#[tokio::test]
async fn a_disabled_users_tokens_stop_working_and_share_changes_apply_at_once() {
    let w = world().await;
    let mut client = w.db.client().await;
    let operator = Acting::operator("test");
    let other = w.tokens["other_viewer"].clone();
    let shared = w.tokens["shared_viewer"].clone();
    let uri = "/api/layers/acc_restricted";
    // What a token costs: the same request 200 times, anonymous and with a token.
    for token in [None, Some(shared.as_str())] {
        let started = std::time::Instant::now();
        for _ in 0..200 {
            send(&w.app, &Method::GET, "/api/layers/acc_public", token, None).await;
        }
        eprintln!(
            "GET /api/layers/acc_public {}: {:.0?} per request",
            if token.is_some() {
                "with a token"
            } else {
                "anonymous"
            },
            started.elapsed() / 200
        );
    }
    assert_eq!(
        send(&w.app, &Method::GET, uri, Some(&other), None).await.0,
        StatusCode::NOT_FOUND
    );

    // Share with the other department instead: the catalog follows the NOTIFY.
    let share = [OTHER.to_owned()];
    layers::set_access(
        &mut client,
        &operator,
        "acc_restricted",
        "restricted",
        Some(&share),
    )
    .await
    .unwrap();
    let mut seen = (StatusCode::NOT_FOUND, StatusCode::OK);
    for _ in 0..50 {
        seen = (
            send(&w.app, &Method::GET, uri, Some(&other), None).await.0,
            send(&w.app, &Method::GET, uri, Some(&shared), None).await.0,
        );
        if seen == (StatusCode::OK, StatusCode::NOT_FOUND) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen, (StatusCode::OK, StatusCode::NOT_FOUND));

    users::set_disabled(&mut client, &operator, "other_viewer", true)
        .await
        .unwrap();
    assert_eq!(
        send(&w.app, &Method::GET, uri, Some(&other), None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn only_editors_of_the_owner_department_and_admins_publish_or_change_access() {
    let w = world().await;
    let mut client = w.db.client().await;
    let as_user = |name: &str, department: &str, role: Role| Acting {
        who: onemap_access::Principal::User(onemap_access::User {
            id: 0,
            name: name.into(),
            department: department.into(),
            role,
        }),
        from: Some("127.0.0.1:1".into()),
    };
    let request = |layer: &str| IngestRequest {
        path: fixture("tiles/parcels_4543.gpkg"),
        layer: layer.into(),
        department: OWNER.into(),
        year: Some(2025),
        ..IngestRequest::default()
    };
    for (acting, layer) in [
        (as_user("owner_viewer", OWNER, Role::Viewer), "acc_public"),
        (as_user("owner_auditor", OWNER, Role::Auditor), "acc_public"),
        (as_user("other_editor", OTHER, Role::Editor), "acc_public"),
        (as_user("other_editor", OTHER, Role::Editor), "acc_new"),
    ] {
        let err = publish::publish(&mut client, &acting, &request(layer))
            .await
            .expect_err("must be refused");
        assert!(
            matches!(err, onemap_access::AccessError::Forbidden(_)),
            "{err:?}"
        );
    }
    // A restricted layer the other editor cannot see does not exist for them.
    let err = publish::publish(
        &mut client,
        &as_user("other_editor", OTHER, Role::Editor),
        &request("acc_restricted"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, onemap_access::AccessError::NotFound(_)),
        "{err:?}"
    );
    let err = layers::set_access(
        &mut client,
        &as_user("shared_viewer", SHARED, Role::Viewer),
        "acc_restricted",
        "public",
        None,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, onemap_access::AccessError::Forbidden(_)),
        "{err:?}"
    );

    let report = publish::publish(
        &mut client,
        &as_user("owner_editor", OWNER, Role::Editor),
        &request("acc_public"),
    )
    .await
    .unwrap();
    let by: String = client
        .query_one(
            "SELECT ingested_by FROM onemap.layer_versions WHERE id = $1",
            &[&report.version_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(by, "owner_editor");
    publish::publish(
        &mut client,
        &as_user("boss", OTHER, Role::Admin),
        &request("acc_internal"),
    )
    .await
    .unwrap();
}

/// Everything that must not change, as one digest: the catalog, the features, users, tokens.
async fn checksum(client: &tokio_postgres::Client) -> (String, String) {
    let data: String = client
        .query_one(include_str!("sql/access_checksum.sql"), &[])
        .await
        .unwrap()
        .get(0);
    let tables: String = client
        .query_one(
            "SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY schemaname, tablename) \
             FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    (data, tables)
}

const PROBES: [&str; 10] = [
    "'",
    "' OR '1'='1",
    "1; DROP TABLE onemap.layers; --",
    "acc_public'; DELETE FROM onemap.features; --",
    "1) OR (1=1",
    "0 UNION SELECT token_sha256 FROM onemap.tokens --",
    "$1",
    "acc_restricted\" OR \"\"=\"",
    "1,2,3,4); TRUNCATE onemap.audit; --",
    "%27%3B%20DROP%20TABLE%20onemap.users%3B",
];

/// JSON bodies carrying `probe` in each field a route with a body reads.
fn probe_bodies(guard: Guard, probe: &str) -> Vec<String> {
    let bodies = match guard {
        Guard::Session => vec![serde_json::json!({ "name": probe, "password": probe })],
        Guard::LayerWrite => vec![
            serde_json::json!({ "level": probe }),
            serde_json::json!({ "level": "restricted", "shared_with": [probe] }),
            serde_json::json!({ "level": "restricted", "shared_with": ["sthj", probe] }),
        ],
        Guard::Rules => ["from_class", "to_class", "trend"]
            .iter()
            .map(|field| {
                let mut rule = serde_json::json!({
                    "from_class": "04", "to_class": "0602", "trend": "degradation",
                    "prohibited_in": ["core"],
                });
                rule[*field] = serde_json::json!(probe);
                serde_json::json!({ "rules": [rule] })
            })
            .chain([serde_json::json!({ "rules": [{
                "from_class": "04", "to_class": "0602", "trend": "degradation",
                "prohibited_in": [probe],
            }] })])
            .collect(),
        Guard::ClueRules => ["activity", "lead", "responsible"]
            .iter()
            .map(|field| {
                let mut rule = serde_json::json!({
                    "activity": "mining", "lead": "zrzy", "responsible": ["lcj"],
                });
                rule[*field] = if *field == "responsible" {
                    serde_json::json!([probe])
                } else {
                    serde_json::json!(probe)
                };
                serde_json::json!({ "rules": [rule] })
            })
            .collect(),
        _ => Vec::new(),
    };
    bodies.iter().map(|b| b.to_string()).collect()
}

#[tokio::test]
async fn sql_injection_probes_on_every_parameter_of_every_route_change_nothing() {
    let w = world().await;
    let client = w.db.client().await;
    let before = checksum(&client).await;
    let mut probes = 0;
    for route in route_list() {
        let params: Vec<&str> = route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .chain(route.query.iter().copied())
            .collect();
        // Writing routes only anonymously: a logout or an access change with a valid token is
        // a legitimate change.
        let callers: &[&str] = if route.method != Method::GET {
            &["anonymous"]
        } else {
            &["anonymous", "owner_admin", "other_viewer"]
        };
        for &caller in callers {
            let token = w.tokens.get(caller).map(String::as_str);
            for param in &params {
                for probe in PROBES {
                    let uri = fill(&route, "acc_restricted", Some((param, probe)));
                    let body = (route.method == Method::POST).then(|| {
                        serde_json::json!({ "name": probe, "password": probe }).to_string()
                    });
                    let (status, text) =
                        send(&w.app, &route.method, &uri, token, body.as_deref()).await;
                    probes += 1;
                    assert!(
                        !status.is_server_error(),
                        "{caller} {uri}: {status} {text:.300}"
                    );
                    if caller == "other_viewer" {
                        assert!(
                            !text.contains("fid"),
                            "{caller} {uri} leaked features: {text:.300}"
                        );
                    }
                }
            }
        }
        // Every field of a JSON body, as the public and as an admin (whose requests get
        // furthest). A probe must fail validation and roll back, never change anything.
        for caller in ["anonymous", "owner_admin"] {
            // A logout with a valid token is a legitimate change.
            if route.guard == Guard::Session && caller != "anonymous" {
                continue;
            }
            let token = w.tokens.get(caller).map(String::as_str);
            for probe in PROBES {
                for body in probe_bodies(route.guard, probe) {
                    let uri = fill(&route, "acc_restricted", None);
                    let (status, text) =
                        send(&w.app, &route.method, &uri, token, Some(&body)).await;
                    probes += 1;
                    assert!(
                        !status.is_server_error() && status != StatusCode::OK,
                        "{caller} {uri} {body}: {status} {text:.300}"
                    );
                }
            }
        }
        // The token itself.
        for probe in PROBES {
            let uri = fill(&route, "acc_public", None);
            let (status, _) = send(&w.app, &route.method, &uri, Some(probe), None).await;
            probes += 1;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{uri} with token {probe:?}"
            );
        }
    }
    eprintln!("{probes} injection probes on {} routes", route_list().len());
    assert!(probes > 300, "only {probes} probes ran");
    assert_eq!(
        checksum(&client).await,
        before,
        "data or schema changed after {probes} probes"
    );
    let report = onemap_access::audit::verify(&client).await.unwrap();
    assert!(report.ok(), "{report:?}");
}
