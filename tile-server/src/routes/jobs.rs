//! Uploads and ingest jobs: `POST /api/layers/{id}/versions` stores a multipart upload under
//! the uploads folder with a server-chosen name and queues an ingest job (202 `{"job": id}`);
//! `GET /api/jobs/{job}` reports the job's state, progress, report and error to whoever asked
//! for it, editors of its department and admins (404 for everyone else).

use std::path::{Path as FsPath, PathBuf};

use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{Method, StatusCode};
use axum::routing;
use axum::Json;
use onemap_access::Acting;
use onemap_jobs::{JobError, JobFile, JobRequest};
use onemap_schemas::authz::{can_publish, Principal};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use super::{Caller, ClientAddr, Guard, Route, RouteInfo};
use crate::error::{ServerError, ServerResult};
use crate::state::AppState;

/// Where uploads go and how large they may be.
#[derive(Debug, Clone)]
pub struct UploadConfig {
    /// Uploads are stored in `dir/<random>/<sanitised name>`.
    pub dir: PathBuf,
    /// The largest file accepted, in bytes.
    pub max_bytes: u64,
}

impl Default for UploadConfig {
    /// The system's temporary folder, 1 GiB.
    fn default() -> Self {
        Self {
            dir: std::env::temp_dir().join("onemap-uploads"),
            max_bytes: 1 << 30,
        }
    }
}

/// The upload route: the body limit is ours ([`UploadConfig::max_bytes`]), not axum's 2 MB.
pub(super) fn upload_route() -> Route {
    Route {
        info: RouteInfo {
            method: Method::POST,
            path: "/api/layers/{id}/versions",
            guard: Guard::Upload,
            query: &[],
        },
        handler: routing::post(versions_post).layer(DefaultBodyLimit::disable()),
    }
}

fn job_error(e: JobError) -> ServerError {
    match e {
        JobError::NotFound(m) => ServerError::NotFound(m),
        JobError::Forbidden(m) => ServerError::Access(onemap_access::AccessError::Forbidden(m)),
        JobError::Invalid(m) => ServerError::BadRequest(m),
        other => ServerError::Tile(other.to_string()),
    }
}

/// A file name safe to create: the last component of what the client sent, letters, digits,
/// `.`, `-` and `_` only, no leading dot; `upload` when nothing is left.
fn safe_name(client_name: Option<&str>) -> String {
    let last = client_name
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "upload".to_owned()
    } else {
        cleaned
    }
}

/// Removes an upload's folder (after a refusal or a failed write).
async fn discard(dir: &FsPath) {
    let _ = tokio::fs::remove_dir_all(dir).await;
}

/// `POST /api/layers/{id}/versions`: multipart `file` plus the text fields `department`,
/// `year`, `label`, `srid`, `encoding`, `source_layer`.
pub async fn versions_post(
    State(state): State<AppState>,
    Caller(who): Caller,
    ClientAddr(from): ClientAddr,
    Path(id): Path<String>,
    mut form: Multipart,
) -> ServerResult<(StatusCode, Json<Value>)> {
    // Refuse before reading the body whoever may not publish this layer at all.
    let catalog = state.catalog.get();
    let owner = catalog
        .layer(&Principal::Operator(String::new()), &id)
        .map(|l| l.department.clone());
    match &owner {
        Some(owner) => {
            if catalog.layer(&who, &id).is_none() {
                return Err(ServerError::NotFound(format!("no layer {id:?}")));
            }
            if !can_publish(&who, owner) {
                return Err(onemap_access::AccessError::Forbidden(format!(
                    "{} may not publish versions of {id} (owned by {owner})",
                    who.name()
                ))
                .into());
            }
        }
        None if who.user().is_none() && !matches!(who, Principal::Operator(_)) => {
            return Err(onemap_access::AccessError::Forbidden("sign in to publish".into()).into());
        }
        None => {}
    }

    let dir = state.uploads.dir.join(format!(
        "{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    ));
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ServerError::Tile(format!("creating the upload folder: {e}")))?;
    let result = receive(&state, &mut form, &dir).await;
    let (fields, file) = match result {
        Ok(x) => x,
        Err(e) => {
            discard(&dir).await;
            return Err(e);
        }
    };
    let Some((path, original)) = file else {
        discard(&dir).await;
        return Err(ServerError::BadRequest(
            "the form has no `file` part".into(),
        ));
    };
    let number = |name: &str| -> ServerResult<Option<i32>> {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<i32>()
                    .map_err(|_| ServerError::BadRequest(format!("{name} must be a number")))
            })
            .transpose()
    };
    let text = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let request = (|| -> ServerResult<JobRequest> {
        let department = text("department")
            .or(owner.clone())
            .ok_or_else(|| ServerError::BadRequest("a new layer needs a department".into()))?;
        Ok(JobRequest {
            layer: id.clone(),
            department,
            year: number("year")?,
            label: text("label"),
            srid: number("srid")?,
            encoding: text("encoding"),
            source_layer: text("source_layer"),
            ..JobRequest::default()
        })
    })();
    let request = match request {
        Ok(r) => r,
        Err(e) => {
            discard(&dir).await;
            return Err(e);
        }
    };
    let conn = state.writer.get().await?;
    let job = onemap_jobs::enqueue(
        &conn,
        &Acting::new(who, from),
        &request,
        &JobFile {
            path,
            original_name: Some(original),
            upload: true,
        },
    )
    .await;
    match job {
        Ok(job) => Ok((StatusCode::ACCEPTED, Json(json!({ "job": job })))),
        Err(e) => {
            discard(&dir).await;
            Err(job_error(e))
        }
    }
}

type Received = (Vec<(String, String)>, Option<(PathBuf, String)>);

/// Reads the form: text fields into memory (small), the file streamed to `dir`.
async fn receive(state: &AppState, form: &mut Multipart, dir: &FsPath) -> ServerResult<Received> {
    let bad = |e: axum::extract::multipart::MultipartError| ServerError::BadRequest(e.body_text());
    let mut fields = Vec::new();
    let mut file = None;
    while let Some(mut part) = form.next_field().await.map_err(bad)? {
        let name = part.name().unwrap_or_default().to_owned();
        if name == "file" {
            if file.is_some() {
                return Err(ServerError::BadRequest("one `file` part only".into()));
            }
            let original = part.file_name().unwrap_or("upload").to_owned();
            let path = dir.join(safe_name(Some(&original)));
            let mut out = tokio::fs::File::create(&path)
                .await
                .map_err(|e| ServerError::Tile(format!("storing the upload: {e}")))?;
            let mut size = 0u64;
            while let Some(chunk) = part.chunk().await.map_err(bad)? {
                size += chunk.len() as u64;
                if size > state.uploads.max_bytes {
                    return Err(ServerError::BadRequest(format!(
                        "the file is larger than the limit of {} MiB",
                        state.uploads.max_bytes >> 20
                    )));
                }
                out.write_all(&chunk)
                    .await
                    .map_err(|e| ServerError::Tile(format!("storing the upload: {e}")))?;
            }
            out.flush()
                .await
                .map_err(|e| ServerError::Tile(format!("storing the upload: {e}")))?;
            file = Some((path, original));
        } else {
            let value = part.text().await.map_err(bad)?;
            if value.len() > 1000 || fields.len() > 20 {
                return Err(ServerError::BadRequest(format!(
                    "field {name:?} is too long"
                )));
            }
            fields.push((name, value));
        }
    }
    Ok((fields, file))
}

/// `GET /api/jobs/{job}`: the job, to those who may see it.
pub async fn job_get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(job): Path<String>,
) -> ServerResult<Json<onemap_jobs::Job>> {
    let not_found = || ServerError::NotFound(format!("no job {job:?}"));
    let id: i64 = job.parse().map_err(|_| not_found())?;
    let conn = state.pool.get().await?;
    onemap_jobs::get(&conn, &who, id)
        .await
        .map_err(job_error)?
        .map(Json)
        .ok_or_else(not_found)
}
