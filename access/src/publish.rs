//! Publication guarded by `authz::can_publish` and recorded in the audit trail: only editors
//! of the owning department (or admins, or the trusted local operator) publish a version.

use onemap_ingest::{IngestReport, IngestRequest};
use onemap_schemas::authz::can_publish;
use onemap_schemas::catalog::Catalog;
use serde_json::json;
use tokio_postgres::Client;

use crate::{audit, AccessError, AccessResult, Acting};

/// Ingests `req` as `acting`: checks that they may publish for the layer's owner (the
/// request's department for a new layer), records them as `ingested_by`, and appends an
/// `ingest.publish` entry (or `ingest.failure`) to the audit trail.
///
/// The ingest commits in its own transaction; the audit entry follows it. Should the process
/// die in between, the version still names who published it (`ingested_by`).
pub async fn publish(
    client: &mut Client,
    acting: &Acting,
    req: &IngestRequest,
) -> AccessResult<IngestReport> {
    let catalog = Catalog::load(&*client)
        .await
        .map_err(|e| AccessError::Invalid(e.to_string()))?;
    // The layer as an all-seeing reader knows it, to find its owner.
    let owner = catalog
        .layer(
            &onemap_schemas::authz::Principal::Operator(String::new()),
            &req.layer,
        )
        .map(|l| l.department.clone());
    if let Some(owner) = &owner {
        if catalog.layer(&acting.who, &req.layer).is_none() {
            return Err(AccessError::NotFound(format!("no layer {:?}", req.layer)));
        }
        if !can_publish(&acting.who, owner) {
            return Err(AccessError::Forbidden(format!(
                "{} may not publish versions of {} (owned by {owner})",
                acting.who.name(),
                req.layer
            )));
        }
    }
    if !can_publish(&acting.who, &req.department) {
        return Err(AccessError::Forbidden(format!(
            "{} may not publish for department {}",
            acting.who.name(),
            req.department
        )));
    }
    let mut req = req.clone();
    req.ingested_by = acting.who.name().to_owned();
    match onemap_ingest::ingest(client, &req).await {
        Ok(report) => {
            audit::record(
                client,
                acting,
                if report.unchanged {
                    "ingest.unchanged"
                } else {
                    "ingest.publish"
                },
                Some(&report.layer),
                &json!({
                    "version_id": report.version_id,
                    "year": report.year,
                    "label": report.label,
                    "features": report.features_written,
                    "source_file": report.source_file,
                    "sha256": report.sha256,
                    "created_layer": report.created_layer,
                }),
            )
            .await?;
            Ok(report)
        }
        Err(e) => {
            // When the connection itself died (the failure's cause), the entry cannot be
            // written on it; the ingest's error is the one to report, not the audit's.
            if let Err(audit_error) = audit::record(
                client,
                acting,
                "ingest.failure",
                Some(&req.layer),
                &json!({ "source_file": req.source_file(), "error": e.to_string() }),
            )
            .await
            {
                tracing::error!(error = %audit_error, "the failed ingest could not be audited");
            }
            Err(e.into())
        }
    }
}
