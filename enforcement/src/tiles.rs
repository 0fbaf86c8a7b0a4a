//! The change-parcel tile layer: the change pieces of two survey years in one tile, as an MVT
//! layer `changes` with `from_class`, `to_class`, `trend`, `zone`, `area_m2` and `flagged`, the
//! pieces split at the reserve zones' borders so that the flagged part shows on its own.

use std::sync::LazyLock;

use onemap_schemas::catalog::Layer;
use onemap_trends::{Level, TrendQuery};
use tokio_postgres::Client;

use crate::{EnforcementError, EnforcementResult};

static TILE_SQL: LazyLock<String> =
    LazyLock::new(|| crate::with_segments(include_str!("sql/change_tile.sql")));

/// The MVT of the change pieces of `layer` between `from` and `to` (defaults as for the
/// transitions) in tile z/x/y; flags judged in `zone_layer`'s zones (none: every piece is
/// outside). Empty when the tile holds no change.
#[allow(clippy::too_many_arguments)]
pub async fn change_tile(
    client: &mut Client,
    layer: &Layer,
    zone_layer: Option<&Layer>,
    from: Option<i32>,
    to: Option<i32>,
    z: i32,
    x: i32,
    y: i32,
) -> EnforcementResult<Vec<u8>> {
    let q = TrendQuery {
        layer,
        zone_layer: None,
        zone: None,
        from,
        to,
        level: Level::Two,
    };
    let (from, to) = onemap_trends::change_versions(client, &q).await?;
    let zone_version = zone_layer.and_then(|l| l.version(None)).map(|v| v.id);
    let row = client
        .query_one(
            TILE_SQL.as_str(),
            &[
                &from.version_id,
                &to.version_id,
                &zone_version,
                &to.srid,
                &Some(z),
                &Some(x),
                &Some(y),
            ],
        )
        .await
        .map_err(EnforcementError::pg("building the change tile"))?;
    Ok(row.get::<_, Option<Vec<u8>>>(0).unwrap_or_default())
}
