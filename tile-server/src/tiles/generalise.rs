//! Generalised land use for low zooms (issue 8, item 1).
//!
//! At zooms up to [`GENERALISED_MAX_ZOOM`] a land-use parcel is a few pixels or less: drawn
//! as is, tiles grow to megabytes, and below about z6 `ST_AsMVTGeom` drops every parcel, so
//! the county's land use vanishes. Instead those tiles come from `onemap.generalised_land_use`:
//! per zoom and tile, an area-true mosaic of the classes (`mosaic.rs`): the land of each class
//! in each cell of the mosaics' finest grid is read once (`sql/tile_generalise_cells.sql`), the
//! cells of every zoom are shared out between the classes in Rust, and each class's cells in a
//! tile are dissolved into one shape by the database (`sql/tile_generalise_insert.sql`). Tiles
//! stay small however dense the parcels (a tile holds at most 256 × 256 cells) and the area of
//! each class is what the parcels have.
//!
//! Only land-use versions of at least [`GENERALISE_MIN_FEATURES`] parcels are generalised.
//!
//! **When it runs:** versions are immutable, so a version is generalised once, on first need:
//! the first tile request of a land-use version starts the build (a low-zoom request waits
//! for it; a high-zoom one is served from the parcels at once while the build runs in the
//! background), and `onemap serve` starts it for each newest version when it starts and when
//! one is published. The server does it, not the ingest path, so ingest stays fast and
//! independent of tile policy, and a change of the generalisation needs no re-ingest: a
//! version built by another [`METHOD`] is rebuilt on first need. A build is one transaction,
//! serialised per version by an in-process cell (one build per server) and a PostgreSQL
//! advisory lock (one per database, however many servers), and marked complete in
//! `onemap.generalised_versions` in the same transaction, so readers never see half of one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use martin_core::tiles::postgres::PostgresPool;
use tokio::sync::OnceCell;

use super::mosaic::{self, Piece};
use crate::error::{ServerError, ServerResult};

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

/// Names the way generalisations are built; a version built another way is rebuilt.
pub const METHOD: &str = "mosaic 2";

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
            &[&version_id, &METHOD],
        )
        .await?;
    if done.is_some() {
        tx.commit().await?;
        return Ok(());
    }
    tx.execute(
        include_str!("../sql/tile_generalise_drop.sql"),
        &[&version_id],
    )
    .await?;
    let deepest = GENERALISED_MAX_ZOOM;
    let rows = tx
        .query(
            include_str!("../sql/tile_generalise_cells.sql"),
            &[&version_id, &mosaic::grid_cell_size(), &class_field],
        )
        .await?;
    let read_ms = started.elapsed().as_millis();
    // Classes numbered in name order, so that the same land gives the same mosaic.
    let mut classes: Vec<String> = rows.iter().map(|r| r.get::<_, String>(2)).collect();
    classes.sort_unstable();
    classes.dedup();
    let index: HashMap<&str, u32> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), u32::try_from(i).unwrap_or(u32::MAX)))
        .collect();
    let pieces: Vec<Piece> = rows
        .iter()
        .map(|row| Piece {
            col: row.get(0),
            row: row.get(1),
            class: index[row.get::<_, &str>(2)],
            area: row.get(3),
        })
        .collect();
    drop(index);
    drop(rows);
    // Sharing out the cells is CPU work of up to a few seconds: off the async threads.
    let levels = tokio::task::spawn_blocking(move || {
        (0..=deepest)
            .map(|zoom| {
                let shapes = mosaic::mosaic(&pieces, zoom);
                let names: Vec<String> = shapes
                    .iter()
                    .map(|s| classes[s.class as usize].clone())
                    .collect();
                let wkbs: Vec<Vec<u8>> = shapes.iter().map(|s| mosaic::wkb(s, zoom)).collect();
                (i32::from(zoom), names, wkbs)
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| ServerError::Tile(format!("sharing out the land-use mosaic: {e}")))?;
    let mut shapes = 0;
    for (zoom, names, wkbs) in &levels {
        shapes += tx
            .execute(
                include_str!("../sql/tile_generalise_insert.sql"),
                &[&version_id, zoom, names, wkbs],
            )
            .await?;
    }
    let ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    tx.execute(
        include_str!("../sql/tile_generalise_done.sql"),
        &[&version_id, &i32::from(deepest), &ms, &METHOD],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(version_id, shapes, read_ms, ms, "land use generalised");
    Ok(())
}
