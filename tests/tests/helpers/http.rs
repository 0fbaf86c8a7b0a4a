//! Requests to the server's router without a socket (`oneshot`), as the API's callers send
//! them: anonymous, with a bearer token, or with the viewer's cookie session (and its CSRF
//! token on unsafe methods). Shared by the access, session and ledger tests.
//!
//! - [`send`] takes a [`Req`] (cookies, CSRF header, bearer token, body, client address,
//!   forwarding headers) and gives an [`Answer`] (status, headers, body).
//! - [`call`] takes a [`Credential`] and gives `(status, body)`; [`login_session`] signs in
//!   through `POST /api/login` and gives the cookie [`Credential`].

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// How a caller proves who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// No credentials: the public.
    Anonymous,
    /// `Authorization: Bearer TOKEN`.
    Bearer(String),
    /// The viewer's cookies `onemap_session` and `onemap_csrf`; the CSRF token is echoed in
    /// `X-CSRF-Token` on unsafe methods (see [`Credential::req`]).
    Session { id: String, csrf: String },
}

impl Credential {
    /// A bearer token, or anonymous.
    pub fn from_token(token: Option<&str>) -> Self {
        token.map_or(Self::Anonymous, |t| Self::Bearer(t.to_owned()))
    }

    /// A request carrying this credential as the viewer or a script sends it: with a session,
    /// both cookies, and the CSRF header when `method` is unsafe and `with_csrf` is set.
    pub fn req(&self, method: &Method, with_csrf: bool) -> Req<'_> {
        match self {
            Self::Anonymous => Req::default(),
            Self::Bearer(token) => Req {
                bearer: Some(token),
                ..Req::default()
            },
            Self::Session { id, csrf } => Req {
                cookies: vec![("onemap_session", id), ("onemap_csrf", csrf)],
                csrf: (with_csrf && !is_safe(method)).then_some(csrf.as_str()),
                ..Req::default()
            },
        }
    }
}

/// GET, HEAD and OPTIONS: the methods that need no CSRF token.
pub fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// One request: everything but the method and the URI.
#[derive(Debug, Default, Clone)]
pub struct Req<'a> {
    /// `Cookie` pairs.
    pub cookies: Vec<(&'a str, &'a str)>,
    /// `X-CSRF-Token`.
    pub csrf: Option<&'a str>,
    /// `Authorization: Bearer …`.
    pub bearer: Option<&'a str>,
    /// The body; sent as `application/json` unless `content_type` says otherwise.
    pub body: Option<String>,
    /// A body of bytes (a multipart upload with binary parts), sent instead of `body`.
    pub body_bytes: Option<Vec<u8>>,
    pub content_type: Option<&'a str>,
    /// The socket address of the client (`ConnectInfo`), e.g. `10.0.0.1:4000`.
    pub from: Option<&'a str>,
    /// `X-Forwarded-Proto: https`.
    pub https: bool,
    /// Any other headers (`X-Forwarded-For`, `Forwarded`…).
    pub headers: Vec<(&'a str, &'a str)>,
}

/// What came back.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as text (invalid UTF-8 replaced) and as it came.
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Answer {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The `Set-Cookie` header that sets `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    /// The value `name` is set to (panics when it is not set).
    pub fn cookie_value(&self, name: &str) -> String {
        let c = self
            .set_cookie(name)
            .unwrap_or_else(|| panic!("no {name} cookie: {:?}", self.headers));
        c[name.len() + 1..].split(';').next().unwrap().to_owned()
    }
}

/// Sends `method uri` with `r` to the router (Host `onemap.test`).
pub async fn send(app: &Router, method: Method, uri: &str, r: Req<'_>) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "onemap.test");
    if !r.cookies.is_empty() {
        let cookie: Vec<String> = r.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        request = request.header("cookie", cookie.join("; "));
    }
    if let Some(c) = r.csrf {
        request = request.header("x-csrf-token", c);
    }
    if let Some(t) = r.bearer {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    if r.https {
        request = request.header("x-forwarded-proto", "https");
    }
    for (k, v) in &r.headers {
        request = request.header(*k, *v);
    }
    if r.body.is_some() || r.body_bytes.is_some() {
        request = request.header("content-type", r.content_type.unwrap_or("application/json"));
    }
    let body = match (r.body_bytes, r.body) {
        (Some(bytes), _) => Body::from(bytes),
        (None, Some(text)) => Body::from(text),
        (None, None) => Body::empty(),
    };
    let mut request = request.body(body).unwrap();
    if let Some(from) = r.from {
        let addr: SocketAddr = from.parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(addr));
    }
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes: bytes.to_vec(),
    }
}

/// Sends `method uri` as `who` (with the CSRF header on unsafe cookie requests) with an
/// optional JSON body; gives the status and the body.
pub async fn call(
    app: &Router,
    method: &Method,
    uri: &str,
    who: &Credential,
    body: Option<&str>,
) -> (StatusCode, String) {
    let a = send(
        app,
        method.clone(),
        uri,
        Req {
            body: body.map(str::to_owned),
            ..who.req(method, true)
        },
    )
    .await;
    (a.status, a.body)
}

/// The body of a session login.
pub fn session_login_body(name: &str, password: &str) -> Option<String> {
    Some(serde_json::json!({ "name": name, "password": password, "session": true }).to_string())
}

/// Signs in through `POST /api/login` with `"session": true`; panics unless it succeeds.
pub async fn login_session(app: &Router, name: &str, password: &str) -> Credential {
    let a = send(
        app,
        Method::POST,
        "/api/login",
        Req {
            body: session_login_body(name, password),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "login of {name}: {}", a.body);
    Credential::Session {
        id: a.cookie_value("onemap_session"),
        csrf: a.json()["csrf"].as_str().unwrap().to_owned(),
    }
}

/// Percent-encodes everything but unreserved characters (for query values).
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
