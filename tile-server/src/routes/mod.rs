//! The router. Every route that reads layers gets the caller's [`Principal`] from the
//! [`Caller`] extractor and reaches layers only through the catalog's authorized view.

mod features;
mod health;
mod layers;
mod style;
mod tiles;
mod viewer;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::get;
use axum::Router;
use onemap_schemas::authz::Principal;

use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(health::health_get))
        .route("/api/layers", get(layers::layers_list))
        .route("/api/layers/{id}", get(layers::layer_get))
        .route("/api/layers/{id}/features", get(features::features_list))
        .route("/api/land-classes", get(layers::land_classes_list))
        .route("/api/departments", get(layers::departments_list))
        .route("/api/themes", get(layers::themes_list))
        .route("/style.json", get(style::style_get))
        .route("/tiles/{layer}", get(tiles::tilejson_get))
        .route("/tiles/{layer}/{z}/{x}/{y}", get(tiles::tile_get))
        .with_state(state.clone());
    api.merge(viewer::router(&state.viewer_dir))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// The authenticated caller. Until users exist (a later issue), everyone is anonymous.
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(Principal::Anonymous))
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
