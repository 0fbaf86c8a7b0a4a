//! The router, built only from [`routes()`]: the list of every mounted route with its
//! [`Guard`] (who may reach it). The authorization-matrix and SQL-injection tests
//! (tests/tests/access.rs) walk this list, so a new route is tested for every role and access
//! level without anyone remembering to add it.
//!
//! **To add a route:** write the handler in its own module, then add one line to `routes()`:
//! `get("/api/things/{layer}", Guard::Layer, &["year"], things::things_get)`: the path, its
//! guard, the query parameters it reads (the injection test probes each of them), and the
//! handler. Name a layer in the path `{id}` or `{layer}`. Reach layers only through the
//! catalog's `visible(who)` / `layer(who, id)` with the principal from [`Caller`] (they call
//! `authz::can_read`, the single authorization point). Do not call `.route` on the router
//! anywhere else: only the viewer's static files are mounted outside the list.

mod audit;
mod clues;
mod enforcement;
mod features;
mod health;
mod jobs;
mod layers;
mod session;
mod style;
mod tiles;
mod trends;
mod viewer;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{self, MethodRouter};
use axum::Router;
use onemap_schemas::authz::Principal;

use crate::error::ServerError;
use crate::state::AppState;
pub use jobs::UploadConfig;

/// Who may reach a route; the authorization-matrix test asserts each guard for every role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Guard {
    /// Health and reference tables: the same answer for everyone, no layer in it.
    Open,
    /// Lists layers (catalog, style): 200 for everyone, holding only what `can_read` allows.
    Catalog,
    /// Names one layer in its path (`{id}` or `{layer}`): 404 unless `can_read`.
    Layer,
    /// The audit trail: auditors and admins; 404 for everyone else.
    Audit,
    /// Signing in and out (POST with a JSON body), tested on their own.
    Session,
    /// Names layers in its query string (`layer`, `zone_layer`): 404 unless `can_read` for
    /// each of them (the trend analytics).
    LayerQuery,
    /// Changes one layer named in its path (PUT with a JSON body): 404 unless `can_read`,
    /// 403 unless `can_change_access` / `can_publish` (editors of the owner, admins).
    LayerWrite,
    /// Changes the enforcement rules (PUT with a JSON body): 403 unless
    /// `authz::can_edit_rules` (editors of sthwb or zrzy, admins).
    Rules,
    /// Uploads a new version of the layer in its path (POST, multipart): 404 unless
    /// `can_read`, 403 unless `can_publish` for its owner; 202 with the queued job.
    Upload,
    /// One ingest job (`{job}`): its requester, editors of its department and admins; 404 for
    /// everyone else (`onemap_jobs::can_see`).
    Job,
    /// The rectification ledger (`/api/clues…`): 404 for the public; signed-in users see the
    /// clues of their department, the coordinating office and admins all; a step needs
    /// `authz::can_act_on_clue` (403 otherwise).
    Clues,
    /// Changes the ledger's suggested-department rules (PUT with a JSON body): 404 for the
    /// public, 403 unless an editor of the coordinating office or an admin.
    ClueRules,
}

/// One mounted route, as the tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: Method,
    /// axum path template, e.g. `/tiles/{layer}/{z}/{x}/{y}`.
    pub path: &'static str,
    pub guard: Guard,
    /// The query parameters the handler reads.
    pub query: &'static [&'static str],
}

/// A route: what the tests see, and the handler that serves it.
pub struct Route {
    pub info: RouteInfo,
    handler: MethodRouter<AppState>,
}

fn get<H, T>(path: &'static str, guard: Guard, query: &'static [&'static str], h: H) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let info = RouteInfo {
        method: Method::GET,
        path,
        guard,
        query,
    };
    Route {
        info,
        handler: routing::get(h),
    }
}

fn put<H, T>(path: &'static str, guard: Guard, query: &'static [&'static str], h: H) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let info = RouteInfo {
        method: Method::PUT,
        path,
        guard,
        query,
    };
    Route {
        info,
        handler: routing::put(h),
    }
}

fn post<H, T>(path: &'static str, guard: Guard, query: &'static [&'static str], h: H) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let info = RouteInfo {
        method: Method::POST,
        path,
        guard,
        query,
    };
    Route {
        info,
        handler: routing::post(h),
    }
}

/// Every route of the API, tiles and style. The router mounts exactly these.
pub fn routes() -> Vec<Route> {
    use Guard::*;
    vec![
        get("/health", Open, &[], health::health_get),
        get("/api/layers", Catalog, &[], layers::layers_list),
        get("/api/layers/{id}", Layer, &[], layers::layer_get),
        get(
            "/api/layers/{id}/features",
            Layer,
            &["year", "bbox", "limit", "offset", "field", "value"],
            features::features_list,
        ),
        get("/api/land-classes", Open, &[], layers::land_classes_list),
        get("/api/departments", Open, &[], layers::departments_list),
        get("/api/themes", Open, &[], layers::themes_list),
        get("/style.json", Catalog, &[], style::style_get),
        get("/tiles/{layer}", Layer, &["year"], tiles::tilejson_get),
        get(
            "/tiles/{layer}/{z}/{x}/{y}",
            Layer,
            &["year"],
            tiles::tile_get,
        ),
        get("/api/me", Open, &[], session::me_get),
        post("/api/login", Session, &[], session::login_post),
        post("/api/logout", Session, &[], session::logout_post),
        get(
            "/api/audit",
            Audit,
            &["format", "limit", "offset"],
            audit::audit_list,
        ),
        put(
            "/api/layers/{id}/access",
            LayerWrite,
            &[],
            session::access_put,
        ),
        get(
            "/api/trends/area",
            LayerQuery,
            trends::QUERY,
            trends::trends_area,
        ),
        get(
            "/api/trends/transitions",
            LayerQuery,
            trends::QUERY,
            trends::trends_transitions,
        ),
        get(
            "/api/changes",
            LayerQuery,
            trends::QUERY,
            trends::changes_list,
        ),
        // The same three questions of an ad-hoc zone sent as a GeoJSON body (reads).
        post(
            "/api/trends/area",
            LayerQuery,
            trends::QUERY,
            trends::trends_area_post,
        ),
        post(
            "/api/trends/transitions",
            LayerQuery,
            trends::QUERY,
            trends::trends_transitions_post,
        ),
        post(
            "/api/changes",
            LayerQuery,
            trends::QUERY,
            trends::changes_post,
        ),
        jobs::upload_route(),
        get("/api/jobs/{job}", Job, &[], jobs::job_get),
        get("/api/enforcement/rules", Open, &[], enforcement::rules_get),
        put("/api/enforcement/rules", Rules, &[], enforcement::rules_put),
        get(
            "/api/enforcement/hotspots",
            LayerQuery,
            enforcement::QUERY,
            enforcement::hotspots_get,
        ),
        get(
            "/api/enforcement/tasks",
            LayerQuery,
            enforcement::QUERY,
            enforcement::tasks_get,
        ),
        get(
            "/tiles/changes/{z}/{x}/{y}",
            LayerQuery,
            enforcement::TILE_QUERY,
            enforcement::changes_tile,
        ),
        get("/api/clues", Clues, clues::QUERY, clues::clues_list),
        get(
            "/api/clues/export",
            Clues,
            clues::QUERY,
            clues::clues_export,
        ),
        get("/api/clues/{id}", Clues, &[], clues::clue_get),
        post(
            "/api/clues/{id}/transitions",
            Clues,
            &[],
            clues::clue_transition,
        ),
        get(
            "/api/clues/summary",
            Clues,
            clues::SUMMARY_QUERY,
            clues::clues_summary,
        ),
        get("/api/clues/rules", Clues, &[], clues::clue_rules_get),
        put("/api/clues/rules", ClueRules, &[], clues::clue_rules_put),
        clues::photos_route(),
        get(
            "/api/clues/{id}/photos/{photo}",
            Clues,
            &[],
            clues::clue_photo_get,
        ),
    ]
}

/// What the router mounts (for tests and documentation).
pub fn route_list() -> Vec<RouteInfo> {
    routes().into_iter().map(|r| r.info).collect()
}

pub fn router(state: AppState) -> Router {
    let mut api = Router::new();
    for r in routes() {
        api = api.route(r.info.path, r.handler);
    }
    api.with_state(state.clone())
        .merge(viewer::router(&state.viewer_dir))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::map_response_with_state(state, security_headers))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// Headers every response carries (401s from [`authenticate`] included); the
/// Content-Security-Policy is built once from the viewer's HTML (crate::sessions).
async fn security_headers(State(state): State<AppState>, mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(header::CONTENT_SECURITY_POLICY, state.csp.clone());
    response
}

/// Resolves the caller once per request, for every route (static files included), and
/// stores the [`Principal`] in the request's extensions for [`Caller`].
///
/// - No credentials: anonymous.
/// - `Authorization: Bearer TOKEN`: the token's user. A malformed, unknown or revoked token is
///   refused with 401 (and audited), never downgraded to anonymous. Bearer requests need no
///   CSRF token (a browser never adds that header by itself); a bearer token wins over a cookie.
/// - The `onemap_session` cookie: the session's user; POST, PUT, PATCH and DELETE must echo
///   the session's CSRF token in `X-CSRF-Token` (else 403). An expired or ended session's
///   cookies are cleared and safe requests continue anonymous (unsafe ones get 401); a session
///   id this server never issued is refused with 401 (audited) and its cookies cleared.
///   `POST /api/login` ignores the cookie: the login replaces that session.
async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, Response> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    // Behind a trusted reverse proxy, the address it forwards (crate::sessions::TrustedProxies).
    let from = state
        .sessions
        .trusted_proxies
        .client(peer, request.headers());
    request
        .extensions_mut()
        .insert(ResolvedClient(from.clone()));
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let target = (
        request.method().as_str().to_owned(),
        request.uri().path().to_owned(),
    );
    let headers = request.headers().clone();
    let session = crate::sessions::cookie(&headers, crate::sessions::SESSION_COOKIE)
        .filter(|_| target.1 != "/api/login")
        .map(str::to_owned);
    let mut clear_cookies = None;
    let mut renew_cookies = Vec::new();
    let who = match (headers.get(header::AUTHORIZATION), session) {
        (None, None) => Principal::Anonymous,
        (Some(value), _) => {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .unwrap_or_default();
            let conn = state.pool.get().await.map_err(fail)?;
            match onemap_access::tokens::resolve(&**conn, token)
                .await
                .map_err(fail)?
            {
                Some(who) => who,
                None => {
                    reject(&state, from, "auth.token_rejected", &target).await?;
                    return Err(fail(ServerError::Unauthorized(
                        "invalid or revoked token".to_owned(),
                    )));
                }
            }
        }
        (None, Some(session)) => {
            use onemap_access::sessions::{self, SessionState};
            let conn = state.writer.get().await.map_err(fail)?;
            let resolved = sessions::resolve(&**conn, &session, state.sessions.limits)
                .await
                .map_err(fail)?;
            drop(conn);
            let cleared = state.sessions.clear_cookies(&headers);
            match resolved {
                SessionState::Valid {
                    who,
                    csrf_sha256,
                    renew,
                } => {
                    let echoed = headers
                        .get(crate::sessions::CSRF_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    if unsafe_method && !sessions::csrf_matches(echoed, &csrf_sha256) {
                        let acting = onemap_access::Acting::new(who, from.clone());
                        record(&state, &acting, "auth.csrf_rejected", &target).await?;
                        return Err(fail(ServerError::Csrf(
                            "missing or wrong X-CSRF-Token for this session".to_owned(),
                        )));
                    }
                    if let Some(age) = renew {
                        renew_cookies = state.sessions.renew_cookies(&headers, &csrf_sha256, age);
                    }
                    who
                }
                SessionState::Expired if !unsafe_method => {
                    clear_cookies = Some(cleared);
                    Principal::Anonymous
                }
                SessionState::Expired => {
                    let mut response = fail(ServerError::Unauthorized(
                        "the session has expired".to_owned(),
                    ));
                    append_cookies(&mut response, cleared);
                    return Err(response);
                }
                SessionState::Unknown => {
                    reject(&state, from, "auth.session_rejected", &target).await?;
                    let mut response =
                        fail(ServerError::Unauthorized("unknown session".to_owned()));
                    append_cookies(&mut response, cleared);
                    return Err(response);
                }
            }
        }
    };
    request.extensions_mut().insert(who);
    let mut response = next.run(request).await;
    if let Some(cleared) = clear_cookies {
        append_cookies(&mut response, cleared);
    }
    // A handler that set the session cookies itself (a logout) has the last word.
    if !response.headers().contains_key(header::SET_COOKIE) {
        for c in renew_cookies {
            response.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    Ok(response)
}

fn fail(e: impl Into<ServerError>) -> Response {
    axum::response::IntoResponse::into_response(e.into())
}

fn append_cookies(response: &mut Response, cookies: [HeaderValue; 2]) {
    for c in cookies {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
}

/// Audits refused credentials as the anonymous caller.
async fn reject(
    state: &AppState,
    from: Option<String>,
    action: &str,
    target: &(String, String),
) -> Result<(), Response> {
    let acting = onemap_access::Acting::new(Principal::Anonymous, from);
    record(state, &acting, action, target).await
}

async fn record(
    state: &AppState,
    acting: &onemap_access::Acting,
    action: &str,
    (method, path): &(String, String),
) -> Result<(), Response> {
    let mut conn = state.writer.get().await.map_err(fail)?;
    onemap_access::audit::record(
        &mut conn,
        acting,
        action,
        Some(path),
        &serde_json::json!({ "method": method }),
    )
    .await
    .map_err(fail)?;
    Ok(())
}

/// The caller, as [`authenticate`] resolved it (anonymous if it did not run).
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<Principal>()
                .cloned()
                .unwrap_or_default(),
        ))
    }
}

/// The client's address as [`authenticate`] resolved it: the socket's peer, or behind a
/// trusted reverse proxy the address it forwards.
#[derive(Debug, Clone)]
struct ResolvedClient(Option<String>);

/// The client's address (the audit trail's "from where", the login limit's key): the socket's
/// peer address when the server was started with connection info, or behind a trusted proxy
/// the forwarded one.
pub(crate) fn client_addr(parts: &Parts) -> Option<String> {
    if let Some(ResolvedClient(from)) = parts.extensions.get::<ResolvedClient>() {
        return from.clone();
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string())
}

/// The client address as an extractor (for handlers that audit).
pub struct ClientAddr(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(client_addr(parts)))
    }
}

/// The base URL the client used, for absolute URLs in TileJSON and the style.
pub(crate) fn base_url(headers: &axum::http::HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("127.0.0.1");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{proto}://{host}")
}

/// Parses an optional `year` query value.
pub(crate) fn parse_year(year: Option<&str>) -> crate::ServerResult<Option<i32>> {
    match year.filter(|y| !y.is_empty()) {
        None => Ok(None),
        Some(y) => y
            .parse::<i32>()
            .ok()
            .filter(|y| (1900..=2200).contains(y))
            .map(Some)
            .ok_or_else(|| {
                crate::ServerError::BadRequest(format!("year must be a year, not {y:?}"))
            }),
    }
}
