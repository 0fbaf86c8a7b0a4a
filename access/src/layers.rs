//! Changing who may see a layer: its access level and the departments it is shared with.

use onemap_schemas::authz::can_change_access;
use onemap_schemas::catalog::Catalog;
use serde_json::json;
use tokio_postgres::Client;

use crate::{audit, AccessError, AccessResult, Acting};

/// The access levels, from most to least open.
pub const LEVELS: [&str; 3] = ["public", "internal", "restricted"];

/// Sets `layer_id`'s access level and, when `shares` is given, replaces its share list (the
/// owner department is implied and dropped from the list). Owners' editors and admins only; a
/// layer the actor may not see is reported as not existing.
pub async fn set_access(
    client: &mut Client,
    acting: &Acting,
    layer_id: &str,
    level: &str,
    shares: Option<&[String]>,
) -> AccessResult<()> {
    if !LEVELS.contains(&level) {
        return Err(AccessError::Invalid(format!(
            "access level must be public, internal or restricted, not {level:?}"
        )));
    }
    let tx = client
        .transaction()
        .await
        .map_err(AccessError::pg("starting the transaction"))?;
    // Serialise with publications and other access changes of this layer.
    tx.execute(include_str!("sql/layer_lock.sql"), &[&layer_id])
        .await
        .map_err(AccessError::pg("locking the layer"))?;
    let catalog = Catalog::load(&tx)
        .await
        .map_err(|e| AccessError::Invalid(e.to_string()))?;
    let layer = catalog
        .layer(&acting.who, layer_id)
        .ok_or_else(|| AccessError::NotFound(format!("no layer {layer_id:?}")))?;
    if !can_change_access(&acting.who, layer) {
        return Err(AccessError::Forbidden(format!(
            "{} may not change the access of {layer_id} (owned by {})",
            acting.who.name(),
            layer.department
        )));
    }
    let mut new_shares: Vec<String> = match shares {
        Some(s) => s
            .iter()
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty() && *d != layer.department)
            .collect(),
        None => layer.shared_with.clone(),
    };
    new_shares.sort();
    new_shares.dedup();
    let key = layer.key;
    tx.execute(include_str!("sql/layer_set_level.sql"), &[&key, &level])
        .await
        .map_err(AccessError::pg("setting the access level"))?;
    if shares.is_some() {
        tx.execute(include_str!("sql/layer_shares_clear.sql"), &[&key])
            .await
            .map_err(AccessError::pg("clearing the share list"))?;
        for d in &new_shares {
            tx.execute(include_str!("sql/layer_share_add.sql"), &[&key, d])
                .await
                .map_err(AccessError::pg("sharing the layer"))
                .and_then(|n| {
                    if n == 1 {
                        Ok(())
                    } else {
                        Err(AccessError::Invalid(format!("unknown department {d:?}")))
                    }
                })?;
        }
    }
    audit::append(
        &tx,
        acting,
        "layer.access",
        Some(layer_id),
        &json!({
            "from": { "level": layer.access_level, "shared_with": layer.shared_with },
            "to": { "level": level, "shared_with": new_shares },
        }),
    )
    .await?;
    tx.commit()
        .await
        .map_err(AccessError::pg("committing the access change"))
}
