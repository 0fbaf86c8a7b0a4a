//! Signing in and out: `POST /api/login` trades a name and password for a bearer token (API
//! clients and scripts) or a cookie session (the viewer, `"session": true`), rate-limited per
//! address and name; `POST /api/logout` revokes the token or ends the session it is called with;
//! `GET /api/me` says who the caller is. Each login is audited, success or failure.
//! `PUT /api/layers/{id}/access` lets the owner department's editors and admins change who may
//! see a layer (audited).

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use onemap_access::{audit, sessions, tokens, users, Acting, Principal};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{Caller, ClientAddr};
use crate::error::{ServerError, ServerResult};
use crate::sessions::{cookie, LoginLimiter, SESSION_COOKIE};
use crate::state::AppState;

/// The body of `POST /api/login`.
#[derive(Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    /// `true`: a cookie session for the viewer instead of a bearer token.
    #[serde(default)]
    session: bool,
}

/// `POST /api/login` `{"name", "password"}` → `{"token", "token_id", "user"}`; with
/// `"session": true` → `{"user", "csrf"}` and the cookies `onemap_session` (HttpOnly) and
/// `onemap_csrf`, a fresh session id every time (a session the browser held is ended).
/// Refused with 429 and `Retry-After` after too many failures from the address or for the
/// name (crate::sessions::LoginLimiter), audited as `login.throttled`.
pub async fn login_post(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    headers: HeaderMap,
    Json(form): Json<LoginForm>,
) -> ServerResult<Response> {
    let keys = LoginLimiter::keys(from.as_deref(), &form.name);
    let mut conn = state.writer.get().await?;
    if let Some(wait) = state.login_limiter.blocked(&keys) {
        let attempted: String = form.name.chars().take(64).collect();
        let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        audit::record(
            &mut conn,
            &Acting::new(Principal::Anonymous, from),
            "login.throttled",
            Some(&attempted),
            &json!({ "retry_after": retry_after_secs }),
        )
        .await?;
        return Err(ServerError::TooManyRequests {
            message: "too many failed logins: try again later".to_owned(),
            retry_after_secs,
        });
    }
    let user = match users::authenticate(&mut conn, from.clone(), &form.name, &form.password).await
    {
        Ok(user) => user,
        Err(e) => {
            if matches!(e, onemap_access::AccessError::BadCredentials) {
                state.login_limiter.failed(&keys);
            }
            return Err(e.into());
        }
    };
    state.login_limiter.succeeded(&keys[1]);
    let acting = Acting::new(Principal::User(user.clone()), from);
    if form.session {
        let previous = cookie(&headers, SESSION_COOKIE);
        let new = sessions::create(&mut conn, &acting, previous).await?;
        let mut response = Json(json!({ "user": user, "csrf": new.csrf })).into_response();
        for c in state.sessions.set_cookies(&headers, &new.id, &new.csrf) {
            response.headers_mut().append(header::SET_COOKIE, c);
        }
        return Ok(response);
    }
    let (id, token) = tokens::create(&mut conn, &acting, &user.name, "login").await?;
    Ok(Json(json!({ "token": token, "token_id": id, "user": user })).into_response())
}

/// `POST /api/logout`: revokes the bearer token of the request, or ends the cookie session
/// (the CSRF token checked by the middleware) and clears its cookies.
pub async fn logout_post(
    State(state): State<AppState>,
    Caller(who): Caller,
    ClientAddr(from): ClientAddr,
    headers: HeaderMap,
) -> ServerResult<Response> {
    if who.user().is_none() {
        return Err(ServerError::Unauthorized("not signed in".to_owned()));
    }
    let mut conn = state.writer.get().await?;
    let acting = Acting::new(who, from);
    let Some(bearer) = headers.get(header::AUTHORIZATION) else {
        // Signed in, without a bearer token: by the session cookie.
        let session = cookie(&headers, SESSION_COOKIE).unwrap_or_default();
        let id = sessions::end(&mut conn, &acting, session).await?;
        let mut response = Json(json!({ "ended": id })).into_response();
        for c in state.sessions.clear_cookies(&headers) {
            response.headers_mut().append(header::SET_COOKIE, c);
        }
        return Ok(response);
    };
    // Caller accepted the header, so it is a well-formed bearer token.
    let token = bearer
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    let id = tokens::revoke(&mut conn, &acting, token).await?;
    Ok(Json(json!({ "revoked": id })).into_response())
}

/// `GET /api/me`: the caller (`{"user": null}` when anonymous).
pub async fn me_get(Caller(who): Caller) -> Json<Value> {
    Json(json!({ "user": who.user() }))
}

/// The body of `PUT /api/layers/{id}/access`.
#[derive(Deserialize)]
pub struct AccessForm {
    /// `public`, `internal` or `restricted`.
    level: String,
    /// Replaces the share list when given.
    shared_with: Option<Vec<String>>,
}

/// `PUT /api/layers/{id}/access` `{"level", "shared_with"}`: 404 for a layer the caller may
/// not see, 403 unless they are an editor of its department or an admin.
pub async fn access_put(
    State(state): State<AppState>,
    Caller(who): Caller,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
    Json(form): Json<AccessForm>,
) -> ServerResult<Json<Value>> {
    let mut conn = state.writer.get().await?;
    onemap_access::layers::set_access(
        &mut conn,
        &Acting::new(who, from),
        &id,
        &form.level,
        form.shared_with.as_deref(),
    )
    .await?;
    Ok(Json(
        json!({ "layer": id, "level": form.level, "shared_with": form.shared_with }),
    ))
}
