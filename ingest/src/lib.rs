//! Onemap ingest: publishes a department's file (GeoJSON, GeoPackage, Shapefile, FlatGeobuf,
//! CSV, or a zip of one; an Esri File Geodatabase with the cargo feature `gdal`) as a new
//! version of a layer. A reader (`source/`: one module per format) streams features into a
//! sink that encodes binary COPY rows (`sink/`); `publish`
//! loads them into a fresh partition of `onemap.features` and attaches it in the same
//! transaction that records the version.
//!
//! Feature ids: a GeoPackage keeps its own fid; GeoJSON features are numbered from 1 in file
//! order (their `id` members may be strings or repeat); FlatGeobuf features likewise, CSV rows
//! by their data row number. The annual land-use survey connector lives in [`survey`].

mod crs;
mod error;
mod progress;
mod publish;
mod report;
mod request;
mod sink;
mod source;
mod staging;
pub mod survey;

pub use sink::GeometryKind;

use std::time::Instant;

pub use crs::identify_wkt;
pub use error::IngestError;
pub use progress::{IngestProgress, ProgressSnapshot};
pub use report::{IngestReport, Rejection};
pub use request::{FieldAlias, IngestRequest, ParallelCopy};
pub use source::{read_shapefile, ShapefileRecord, ShapefileTable};
pub use staging::{sweep as sweep_staging, STREAM_APPLICATION};

use crate::source::Crs;

/// Opens the request's file on a blocking thread (readers do file I/O).
async fn open(req: &IngestRequest) -> Result<source::Opened, IngestError> {
    let to_open = req.clone();
    tokio::task::spawn_blocking(move || source::open(&to_open))
        .await
        .map_err(|e| IngestError::Internal {
            file: req.path.clone(),
            detail: format!("the reader task failed: {e}"),
        })?
}

/// Ingests `req.path` as a new version of `req.layer`, or reports it `unchanged` when the same
/// file is already the newest version of that layer and year. Nothing is published on error.
#[tracing::instrument(skip_all, fields(layer = %req.layer, file = %req.path.display()))]
pub async fn ingest(
    client: &mut tokio_postgres::Client,
    req: &IngestRequest,
) -> Result<IngestReport, IngestError> {
    let started = Instant::now();
    validate(req)?;
    let opened = open(req).await?;
    let crs = match req.srid {
        Some(srid) => Crs {
            srid,
            source: "--srid".into(),
        },
        None => match (opened.source.crs(), opened.source.wkt()) {
            (Some(crs), _) => crs,
            (None, Some(wkt)) => crs::identify(client, &wkt, &opened.source.wkt_origin())
                .await
                .map_err(|detail| IngestError::UnknownCrs {
                    file: req.path.clone(),
                    detail,
                })?,
            (None, None) => {
                return Err(IngestError::UnknownCrs {
                    file: req.path.clone(),
                    detail: opened.source.crs_problem(),
                })
            }
        },
    };
    let report = match publish::publish(client, req, opened, crs.clone(), started).await {
        // The server refused a row in one of several streams, whose line numbers are not the
        // file's feature numbers: load it again in one stream to name the feature.
        Err(e) if req.parallel.is_some() && refused_a_row(&e) => {
            tracing::debug!(error = %e, "a parallel stream refused a row; loading in one stream");
            let serial = IngestRequest {
                parallel: None,
                ..req.clone()
            };
            let opened = open(&serial).await?;
            publish::publish(client, &serial, opened, crs, started).await?
        }
        result => result?,
    };
    tracing::info!(
        version_id = report.version_id,
        features = report.features_written,
        unchanged = report.unchanged,
        duration_ms = report.duration_ms,
        "ingested"
    );
    Ok(report)
}

/// Whether a parallel COPY stream failed on a row the server refused (COPY names its line).
fn refused_a_row(e: &IngestError) -> bool {
    let IngestError::Postgres {
        context, source, ..
    } = e
    else {
        return false;
    };
    context == publish::STREAM_CONTEXT
        && source
            .as_db_error()
            .and_then(|db| db.where_())
            .is_some_and(|w| w.contains(", line "))
}

fn validate(req: &IngestRequest) -> Result<(), IngestError> {
    let invalid = |detail: String| IngestError::InvalidRequest {
        file: req.path.clone(),
        detail,
    };
    let id = req.layer.as_bytes();
    let id_ok = !id.is_empty()
        && id.len() <= 63
        && id[0].is_ascii_lowercase()
        && id
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
    if !id_ok {
        return Err(invalid(format!(
            "layer id {:?} must match ^[a-z][a-z0-9_]{{0,62}}$",
            req.layer
        )));
    }
    if let Some(year) = req.year.filter(|y| !(1900..=2200).contains(y)) {
        return Err(invalid(format!("year {year} is not between 1900 and 2200")));
    }
    if let Some(srid) = req.srid.filter(|s| *s <= 0) {
        return Err(invalid(format!("--srid {srid} is not an EPSG code")));
    }
    Ok(())
}
