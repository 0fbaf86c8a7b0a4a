//! Signing in and out for API clients and scripts: `POST /api/login` trades a name and
//! password for a bearer token, `POST /api/logout` revokes the token it is called with, and
//! `GET /api/me` says who the caller is. Each login is audited, success or failure.
//! `PUT /api/layers/{id}/access` lets the owner department's editors and admins change who may
//! see a layer (audited).

use axum::extract::{Path, State};
use axum::Json;
use onemap_access::{tokens, users, Acting, Principal};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{Caller, ClientAddr};
use crate::error::{ServerError, ServerResult};
use crate::state::AppState;

/// The body of `POST /api/login`.
#[derive(Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
}

/// `POST /api/login` `{"name", "password"}` → `{"token", "user"}`.
pub async fn login_post(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    Json(form): Json<LoginForm>,
) -> ServerResult<Json<Value>> {
    let mut conn = state.pool.get().await?;
    let user = users::authenticate(&mut conn, from.clone(), &form.name, &form.password).await?;
    let acting = Acting::new(Principal::User(user.clone()), from);
    let (id, token) = tokens::create(&mut conn, &acting, &user.name, "login").await?;
    Ok(Json(
        json!({ "token": token, "token_id": id, "user": user }),
    ))
}

/// `POST /api/logout`: revokes the bearer token of the request.
pub async fn logout_post(
    State(state): State<AppState>,
    Caller(who): Caller,
    ClientAddr(from): ClientAddr,
    headers: axum::http::HeaderMap,
) -> ServerResult<Json<Value>> {
    if who.user().is_none() {
        return Err(ServerError::Unauthorized("not signed in".to_owned()));
    }
    // Caller accepted the header, so it is a well-formed bearer token.
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    let mut conn = state.pool.get().await?;
    let id = tokens::revoke(&mut conn, &Acting::new(who, from), token).await?;
    Ok(Json(json!({ "revoked": id })))
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
    let mut conn = state.pool.get().await?;
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
