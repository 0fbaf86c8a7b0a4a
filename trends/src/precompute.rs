//! The precompute: overlays a land-use version, once, with every zoning layer's newest version
//! (area by class per zone) and with the previous survey year (the change pieces and the
//! transition matrix per zone). Each unit of work is recorded in `onemap.trend_runs` with its
//! duration, so nothing is computed twice and a new year's cost is known.

use std::time::Instant;

use serde::Serialize;
use tokio_postgres::{Client, Transaction};

use crate::{TrendsError, TrendsResult};

/// One survey year of a land-use layer, as the precompute needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct LandUseVersion {
    pub layer_key: i32,
    pub version_id: i64,
    pub year: i32,
    pub srid: i32,
    /// The attribute holding the class code (`DLBM`).
    pub class_field: String,
}

/// The version of a zoning layer whose polygons are the zones.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneVersion {
    pub layer_key: i32,
    pub layer_id: String,
    pub version_id: i64,
}

/// What one `precompute` call did.
#[derive(Debug, Clone, Serialize)]
pub struct PrecomputeReport {
    pub layer: String,
    pub years: Vec<YearReport>,
    /// Wall-clock time of the whole call.
    pub duration_ms: f64,
}

/// What the precompute did for one survey year.
#[derive(Debug, Clone, Serialize)]
pub struct YearReport {
    pub year: i32,
    pub version_id: i64,
    /// Zoning layers (plus the whole extent) whose areas were computed now.
    pub area_zones_computed: usize,
    pub area_ms: f64,
    /// The year it was overlaid with, if there was an earlier one.
    pub from_year: Option<i32>,
    /// Zoning layers (plus the whole extent) whose transitions were computed now.
    pub transition_zones_computed: usize,
    pub transitions_ms: f64,
    /// Change pieces written now (0 when they already existed).
    pub change_parcels: u64,
}

/// The survey years of land-use layer `layer_id`, oldest first, one version (the newest
/// ingest) per year.
pub async fn land_use_versions(
    client: &Client,
    layer_id: &str,
) -> TrendsResult<Vec<LandUseVersion>> {
    let rows = client
        .query(include_str!("sql/land_use_versions.sql"), &[&layer_id])
        .await
        .map_err(TrendsError::pg("reading the land-use versions"))?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(class_field) = r.get::<_, Option<String>>("class_field") else {
            return Err(TrendsError::NotLandUse(layer_id.to_owned()));
        };
        let (Some(version_id), Some(year), Some(srid)) =
            (r.get("version_id"), r.get("year"), r.get("srid"))
        else {
            continue;
        };
        out.push(LandUseVersion {
            layer_key: r.get("layer_key"),
            version_id,
            year,
            srid,
            class_field,
        });
    }
    Ok(out)
}

/// The newest version of every zoning layer (every polygon layer that is not land use).
pub async fn zone_layers(client: &Client) -> TrendsResult<Vec<ZoneVersion>> {
    let rows = client
        .query(include_str!("sql/zone_layers.sql"), &[])
        .await
        .map_err(TrendsError::pg("reading the zoning layers"))?;
    Ok(rows
        .iter()
        .map(|r| ZoneVersion {
            layer_key: r.get("layer_key"),
            layer_id: r.get("layer_id"),
            version_id: r.get("version_id"),
        })
        .collect())
}

/// Precomputes land-use layer `layer_id` for survey year `year` (every year when `None`):
/// areas per zone of every zoning layer and of the whole extent, and the overlay with the
/// previous survey year. What was computed before is skipped.
#[tracing::instrument(skip(client))]
pub async fn precompute(
    client: &mut Client,
    layer_id: &str,
    year: Option<i32>,
) -> TrendsResult<PrecomputeReport> {
    let started = Instant::now();
    let versions = land_use_versions(client, layer_id).await?;
    if versions.is_empty() {
        return Err(TrendsError::NoVersion {
            layer: layer_id.to_owned(),
            year,
        });
    }
    if let Some(y) = year {
        if !versions.iter().any(|v| v.year == y) {
            return Err(TrendsError::NoVersion {
                layer: layer_id.to_owned(),
                year: Some(y),
            });
        }
    }
    let zones = zone_layers(client).await?;
    let mut years = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        if year.is_some_and(|y| y != v.year) {
            continue;
        }
        let area = ensure_area(client, v, &zones, true).await?;
        let previous = i.checked_sub(1).map(|p| &versions[p]);
        let trans = match previous {
            Some(p) => ensure_transitions(client, p, v, &zones, true).await?,
            None => Computed::default(),
        };
        years.push(YearReport {
            year: v.year,
            version_id: v.version_id,
            area_zones_computed: area.units,
            area_ms: area.ms,
            from_year: previous.map(|p| p.year),
            transition_zones_computed: trans.units,
            transitions_ms: trans.ms,
            change_parcels: trans.change_parcels,
        });
    }
    Ok(PrecomputeReport {
        layer: layer_id.to_owned(),
        years,
        duration_ms: ms(started),
    })
}

/// What an `ensure_*` call computed.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Computed {
    /// Zones (a zoning layer, or the whole extent) computed now.
    pub units: usize,
    pub ms: f64,
    pub change_parcels: u64,
}

/// Makes sure the areas of `v` exist for each of `zones` and, when `whole`, for the whole
/// extent; computes what is missing in one transaction.
pub(crate) async fn ensure_area(
    client: &mut Client,
    v: &LandUseVersion,
    zones: &[ZoneVersion],
    whole: bool,
) -> TrendsResult<Computed> {
    let started = Instant::now();
    analyse_fresh(client, &[v.version_id]).await?;
    let tx = begin(client, v.layer_key).await?;
    let done = runs_done(&tx, "area", v.version_id, None).await?;
    let mut computed = Computed::default();
    if whole && !done.contains(&None) {
        let t = Instant::now();
        let n = tx
            .execute(
                include_str!("sql/area_whole.sql"),
                &[&v.version_id, &v.class_field],
            )
            .await
            .map_err(TrendsError::pg("computing the area by class"))?;
        record(&tx, "area", v.version_id, None, None, t, n).await?;
        computed.units += 1;
    }
    for z in zones {
        if done.contains(&Some(z.version_id)) {
            continue;
        }
        let t = Instant::now();
        let n = tx
            .execute(
                include_str!("sql/area_zone.sql"),
                &[
                    &v.version_id,
                    &z.layer_key,
                    &z.version_id,
                    &v.class_field,
                    &v.srid,
                ],
            )
            .await
            .map_err(TrendsError::pg("computing the area by class per zone"))?;
        record(&tx, "area", v.version_id, None, Some(z.version_id), t, n).await?;
        computed.units += 1;
    }
    tx.commit()
        .await
        .map_err(TrendsError::pg("committing the areas"))?;
    computed.ms = ms(started);
    Ok(computed)
}

/// Whether `kind` (`area` or `transitions`) is precomputed for every one of `version_ids`
/// (distinct), from `from_version` (transitions), for the zone version `zone_version` (`None`:
/// the whole extent). One statement and no lock: a read whose figures all exist goes straight
/// to them, and only a miss takes the `ensure_*` path (lock, statistics check, compute).
pub(crate) async fn runs_ready(
    client: &Client,
    kind: &str,
    version_ids: &[i64],
    from_version: Option<i64>,
    zone_version: Option<i64>,
) -> TrendsResult<bool> {
    let row = client
        .query_one(
            include_str!("sql/runs_ready.sql"),
            &[&kind, &version_ids, &from_version, &zone_version],
        )
        .await
        .map_err(TrendsError::pg("reading the precompute runs"))?;
    Ok(row.get("ready"))
}

/// Makes sure the overlay of `from` with `to` exists: the change parcels and whole-extent
/// transitions when `whole`, and the transitions per zone of each of `zones`. The overlay
/// pieces are computed at most once per call, in a temporary table.
pub(crate) async fn ensure_transitions(
    client: &mut Client,
    from: &LandUseVersion,
    to: &LandUseVersion,
    zones: &[ZoneVersion],
    whole: bool,
) -> TrendsResult<Computed> {
    let started = Instant::now();
    analyse_fresh(client, &[from.version_id, to.version_id]).await?;
    let tx = begin(client, to.layer_key).await?;
    let done = runs_done(&tx, "transitions", to.version_id, Some(from.version_id)).await?;
    let whole_missing = whole && !done.contains(&None);
    let missing: Vec<&ZoneVersion> = zones
        .iter()
        .filter(|z| !done.contains(&Some(z.version_id)))
        .collect();
    let mut computed = Computed::default();
    if !whole_missing && missing.is_empty() {
        return Ok(computed);
    }
    let pieces_started = Instant::now();
    overlay_pieces(&tx, from, to).await?;
    let ids: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&from.version_id, &to.version_id];
    if whole_missing {
        computed.change_parcels = tx
            .execute(include_str!("sql/change_parcels.sql"), &ids)
            .await
            .map_err(TrendsError::pg("writing the change parcels"))?;
        let n = tx
            .execute(include_str!("sql/transitions_whole.sql"), &ids)
            .await
            .map_err(TrendsError::pg("summing the transitions"))?;
        // The overlay's cost is the whole extent's: the zones only clip its pieces.
        record(
            &tx,
            "transitions",
            to.version_id,
            Some(from.version_id),
            None,
            pieces_started,
            n,
        )
        .await?;
        computed.units += 1;
    }
    for z in missing {
        let t = Instant::now();
        let n = tx
            .execute(
                include_str!("sql/transitions_zone.sql"),
                &[
                    &from.version_id,
                    &to.version_id,
                    &z.layer_key,
                    &z.version_id,
                    &to.srid,
                ],
            )
            .await
            .map_err(TrendsError::pg("summing the transitions per zone"))?;
        record(
            &tx,
            "transitions",
            to.version_id,
            Some(from.version_id),
            Some(z.version_id),
            t,
            n,
        )
        .await?;
        computed.units += 1;
    }
    tx.commit()
        .await
        .map_err(TrendsError::pg("committing the transitions"))?;
    computed.ms = ms(started);
    Ok(computed)
}

/// Fills `pg_temp.trend_pieces` with the overlay of `from` and `to`.
async fn overlay_pieces(
    tx: &Transaction<'_>,
    from: &LandUseVersion,
    to: &LandUseVersion,
) -> TrendsResult<()> {
    tx.batch_execute(include_str!("sql/pieces_create.sql"))
        .await
        .map_err(TrendsError::pg("creating the overlay table"))?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] = [
        &from.version_id,
        &to.version_id,
        &from.class_field,
        &to.class_field,
        &to.srid,
    ];
    tx.execute(include_str!("sql/pieces_inside.sql"), &params)
        .await
        .map_err(TrendsError::pg("overlaying the unchanged parcels"))?;
    tx.batch_execute("ANALYZE pg_temp.trend_pieces")
        .await
        .map_err(TrendsError::pg("analysing the overlay"))?;
    tx.execute(include_str!("sql/pieces_rest.sql"), &params)
        .await
        .map_err(TrendsError::pg("overlaying the changed parcels"))?;
    tx.batch_execute(include_str!("sql/pieces_index.sql"))
        .await
        .map_err(TrendsError::pg("indexing the overlay"))?;
    Ok(())
}

/// Analyses the versions' partitions that were never analysed (a version ingested a moment
/// ago): without statistics the planner may join 50 000 parcels in a loop without the index.
async fn analyse_fresh(client: &Client, version_ids: &[i64]) -> TrendsResult<()> {
    let names: Vec<String> = version_ids
        .iter()
        .map(|id| format!("features_v{id}"))
        .collect();
    let rows = client
        .query(include_str!("sql/unanalysed.sql"), &[&names])
        .await
        .map_err(TrendsError::pg("checking the partitions' statistics"))?;
    for r in rows {
        let table: String = r.get(0);
        // A catalog name, escaped all the same.
        let sql = format!(
            "ANALYZE onemap.{}",
            postgres_protocol::escape::escape_identifier(&table)
        );
        client
            .batch_execute(&sql)
            .await
            .map_err(TrendsError::pg("analysing a new version"))?;
    }
    Ok(())
}

/// Opens a transaction holding the precompute lock of one land-use layer.
async fn begin(client: &mut Client, layer_key: i32) -> TrendsResult<Transaction<'_>> {
    let tx = client
        .transaction()
        .await
        .map_err(TrendsError::pg("starting the precompute"))?;
    tx.execute(include_str!("sql/lock.sql"), &[&layer_key])
        .await
        .map_err(TrendsError::pg("taking the precompute lock"))?;
    // PostGIS functions' high costs make every statement look worth JIT-compiling: that took
    // a third of a second per statement and saved nothing.
    tx.batch_execute("SET LOCAL jit = off")
        .await
        .map_err(TrendsError::pg("configuring the precompute"))?;
    Ok(tx)
}

/// The zone versions already computed (`None`: the whole extent).
async fn runs_done(
    tx: &Transaction<'_>,
    kind: &str,
    version_id: i64,
    from_version: Option<i64>,
) -> TrendsResult<Vec<Option<i64>>> {
    let rows = tx
        .query(
            include_str!("sql/runs_done.sql"),
            &[&kind, &version_id, &from_version],
        )
        .await
        .map_err(TrendsError::pg("reading the precompute runs"))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

async fn record(
    tx: &Transaction<'_>,
    kind: &str,
    version_id: i64,
    from_version: Option<i64>,
    zone_version_id: Option<i64>,
    started: Instant,
    rows: u64,
) -> TrendsResult<()> {
    let duration = ms(started);
    let rows = i64::try_from(rows).unwrap_or(i64::MAX);
    tx.execute(
        include_str!("sql/insert_run.sql"),
        &[
            &kind,
            &version_id,
            &from_version,
            &zone_version_id,
            &duration,
            &rows,
        ],
    )
    .await
    .map_err(TrendsError::pg("recording the precompute run"))?;
    Ok(())
}

fn ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

/// What the precompute after a publication did, for the publication's report.
#[derive(Debug, Clone, Serialize)]
pub struct PublishedPrecompute {
    /// The survey year that was published.
    pub year: i32,
    /// Wall-clock time of the whole precompute, failed or not.
    pub duration_ms: f64,
    /// What was computed: the published year (areas, overlay with the previous year) and, when
    /// a later year exists, that year's overlay with the published one.
    pub years: Vec<YearReport>,
    /// Why the precompute failed; the published version stays, and queries compute what is
    /// missing on the spot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The precompute a new version of `layer_id` calls for, run right after its publication (in
/// the ingest job, `onemap ingest` and `onemap survey sync`): `None` when the layer is not a
/// land-use layer or the version has no survey year. Never fails: an error is logged and
/// returned in the report, since the version is published either way.
pub async fn precompute_published(
    client: &mut Client,
    layer_id: &str,
    year: Option<i32>,
) -> Option<PublishedPrecompute> {
    let year = year?;
    let started = Instant::now();
    let result = async {
        let versions = land_use_versions(client, layer_id).await?;
        // The year after the published one is overlaid with the new version too: its
        // transitions were computed against the version this one replaces (or none).
        let next = versions.iter().map(|v| v.year).find(|y| *y > year);
        let mut years = precompute(client, layer_id, Some(year)).await?.years;
        if let Some(next) = next {
            years.extend(precompute(client, layer_id, Some(next)).await?.years);
        }
        TrendsResult::Ok(years)
    }
    .await;
    let (years, error) = match result {
        Ok(years) => (years, None),
        Err(TrendsError::NotLandUse(_)) => return None,
        Err(e) => {
            tracing::warn!(layer = layer_id, year, error = %e, "the trend precompute failed; the version stays published");
            (Vec::new(), Some(e.to_string()))
        }
    };
    Some(PublishedPrecompute {
        year,
        duration_ms: ms(started),
        years,
        error,
    })
}
