//! Generalised land use for low zooms (issue 8, item 1).
//!
//! At zooms up to [`GENERALISED_MAX_ZOOM`] a land-use parcel is a few pixels or less: drawn
//! as is, tiles grow to megabytes, and below about z6 `ST_AsMVTGeom` drops every parcel, so
//! the county's land use vanishes. Instead those tiles come from `onemap.generalised_land_use`:
//! per zoom, parcels dissolved by class within one-tile cells, snapped and simplified to the
//! zoom's tile unit (`sql/tile_generalise_level.sql`). Dissolving keeps each class's area (the
//! tests hold z8 within 5% of the parcels' geodesic area) and removes the edges between
//! parcels of one class, which are most of the vertices.
//!
//! Only land-use versions of at least [`GENERALISE_MIN_FEATURES`] parcels are generalised.
//!
//! **When it runs:** versions are immutable, so a version is generalised once, on first need:
//! the first tile request of a land-use version starts the build (a low-zoom request waits
//! for it; a high-zoom one is served from the parcels at once while the build runs in the
//! background). The server does it, not the ingest path, so ingest stays fast and independent
//! of tile policy, and a change of the generalisation needs no re-ingest: empty the tables and
//! the next request rebuilds. A build is one transaction, serialised per version by an
//! in-process cell (one build per server) and a PostgreSQL advisory lock (one per database,
//! however many servers), and marked complete in `onemap.generalised_versions` in the same
//! transaction, so readers never see half of one. About 30 s for 50 000 parcels; 19.6 min for
//! the 1 000 000 parcels of `benches/tiles.sh` on a busy 2-core machine (most of it the deepest
//! zoom, dissolved from the parcels), during which low-zoom requests of that version wait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use martin_core::tiles::postgres::PostgresPool;
use tokio::sync::OnceCell;

use crate::error::ServerResult;

/// Deepest zoom served from the generalised tables; deeper zooms draw the parcels themselves.
/// At z12 a tile unit is 9.6 m and a tile 39 km, so parcels of a few hundred metres are tens
/// of pixels wide and their tiles small (62 KB at most on the 50 000-parcel demo).
pub const GENERALISED_MAX_ZOOM: u8 = 11;

/// Zooms past [`GENERALISED_MAX_ZOOM`] up to this one draw the parcels with their id, class
/// and area (rounded to the square metre) only (`sql/tile_land_use_slim.sql`): at z12 a dense
/// tile of a 1 000 000-parcel survey year holds about 10 000 parcels, 1.1 MB with every
/// attribute and about 300 KB like this. Deeper zooms carry every attribute.
pub const SLIM_MAX_ZOOM: u8 = 12;

/// Versions with fewer features are drawn from their features at every zoom: even all in one
/// tile they stay well under 500 KB (about 100 bytes a parcel), and small layers keep every
/// attribute at every zoom.
pub const GENERALISE_MIN_FEATURES: i64 = 2_000;

/// Builds each version's generalisation at most once per process.
#[derive(Default)]
pub struct Generaliser {
    built: Mutex<HashMap<i64, Arc<OnceCell<()>>>>,
}

impl Generaliser {
    /// Returns once `version_id` is generalised, building it if nobody has yet. Concurrent
    /// callers for one version share one build; a failed build is retried by the next caller.
    pub async fn ensure(
        &self,
        pool: &PostgresPool,
        version_id: i64,
        class_field: &str,
    ) -> ServerResult<()> {
        let cell = self
            .built
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(version_id)
            .or_default()
            .clone();
        cell.get_or_try_init(|| build(pool, version_id, class_field))
            .await?;
        Ok(())
    }

    /// Starts [`Self::ensure`] in the background (after a high-zoom request, so the low zooms
    /// are ready by the time someone zooms out).
    pub fn prepare(self: &Arc<Self>, pool: &PostgresPool, version_id: i64, class_field: &str) {
        let ready = self
            .built
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&version_id)
            .is_some_and(|c| c.initialized());
        if ready {
            return;
        }
        let (me, pool, field) = (self.clone(), pool.clone(), class_field.to_owned());
        tokio::spawn(async move {
            if let Err(e) = me.ensure(&pool, version_id, &field).await {
                tracing::warn!(version_id, error = %e, "generalising land use failed");
            }
        });
    }
}

/// Builds the generalisation of `version_id` unless the database already has it.
#[tracing::instrument(skip(pool))]
async fn build(pool: &PostgresPool, version_id: i64, class_field: &str) -> ServerResult<()> {
    let started = Instant::now();
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await?;
    tx.execute(
        include_str!("../sql/tile_generalise_lock.sql"),
        &[&version_id],
    )
    .await?;
    let done = tx
        .query_opt(
            include_str!("../sql/tile_generalised_zoom.sql"),
            &[&version_id],
        )
        .await?;
    if done.is_some() {
        tx.commit().await?;
        return Ok(());
    }
    let max = i32::from(GENERALISED_MAX_ZOOM);
    let mut shapes = 0;
    for zoom in (0..=max).rev() {
        shapes += tx
            .execute(
                include_str!("../sql/tile_generalise_level.sql"),
                &[&version_id, &zoom, &class_field, &max],
            )
            .await?;
    }
    let ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    tx.execute(
        include_str!("../sql/tile_generalise_done.sql"),
        &[&version_id, &max, &ms],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(version_id, shapes, ms, "land use generalised");
    Ok(())
}
