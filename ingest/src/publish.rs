//! The publication protocol: in one transaction, create or check the layer, add the version
//! row, load the rows into a fresh partition with binary COPY, index it, attach it, and fill in
//! the version's count and extent. Readers never see a half-loaded version; any error drops the
//! transaction and leaves earlier versions exactly as they were.

use std::path::Path;
use std::time::Instant;

use bytes::Bytes;
use futures::SinkExt;
use postgres_protocol::escape::escape_identifier;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{Client, Transaction};

use crate::sink::{
    client_derives, Deriver, GeometryKind, Malformed, RowSink, SinkSummary, COPY_HEADER,
    COPY_TRAILER,
};
use crate::source::{Crs, Opened};
use crate::staging::Staging;
use crate::{IngestError, IngestReport, IngestRequest};

/// Chunks of COPY data in flight between the reader thread and the writer.
const CHANNEL_DEPTH: usize = 4;

/// The existing layer, locked for this transaction.
struct ExistingLayer {
    key: i32,
    kind: GeometryKind,
}

/// Publishes an opened file as a new version of `req.layer` (or finds it unchanged). With
/// `req.parallel`, the rows are loaded into a staging table over several connections first
/// (`staging.rs`), which this drops again on any failure.
pub(crate) async fn publish(
    client: &mut Client,
    req: &IngestRequest,
    opened: Opened,
    crs: Crs,
    started: Instant,
) -> Result<IngestReport, IngestError> {
    // Staging tables left by parallel loads that died go first (never one still loading).
    if let Err(e) = crate::staging::sweep(client).await {
        tracing::warn!(error = %e, "could not sweep leftover staging tables");
    }
    let mut staging = None;
    let result = publish_in(client, req, opened, crs, started, &mut staging).await;
    if let Some(staging) = staging {
        match &result {
            Ok(_) => staging.release().await,
            Err(_) => staging.abandon().await,
        }
    }
    result
}

async fn publish_in(
    client: &mut Client,
    req: &IngestRequest,
    opened: Opened,
    crs: Crs,
    started: Instant,
    staging: &mut Option<Staging>,
) -> Result<IngestReport, IngestError> {
    let file = req.path.as_path();
    let pg = |context: &str| IngestError::pg(file, context.to_owned());
    let tx = client
        .transaction()
        .await
        .map_err(pg("starting the transaction"))?;

    check_department(&tx, file, &req.department).await?;
    if let Some(theme) = &req.theme {
        let known: bool = tx
            .query_one(include_str!("sql/theme_exists.sql"), &[theme])
            .await
            .map_err(pg("looking up the theme"))?
            .get(0);
        if !known {
            return Err(IngestError::InvalidRequest {
                file: file.to_owned(),
                detail: format!("unknown theme {theme:?}"),
            });
        }
    }
    let srid_known: bool = tx
        .query_one(include_str!("sql/srid_known.sql"), &[&crs.srid])
        .await
        .map_err(pg("looking up the SRID"))?
        .get(0);
    if !srid_known {
        return Err(IngestError::UnknownSrid {
            file: file.to_owned(),
            srid: crs.srid,
            origin: crs.source.clone(),
        });
    }

    let declared = opened.source.declared_kind();
    let existing = lock_layer(&tx, req, declared).await?;
    if let Some(layer) = &existing {
        if let Some(report) = unchanged(&tx, req, layer, &opened.sha256, &crs, started).await? {
            tx.rollback().await.map_err(pg("ending the transaction"))?;
            return Ok(report);
        }
    }

    let (layer_key, created_layer) = match &existing {
        Some(layer) => (layer.key, false),
        None => (insert_layer(&tx, req, declared).await?, true),
    };
    let label = req.effective_label();
    let source_file = req.source_file();
    let version_id: i64 = tx
        .query_one(
            include_str!("sql/insert_version.sql"),
            &[
                &layer_key,
                &req.year,
                &label,
                &crs.srid,
                &source_file,
                &opened.sha256,
                &req.ingested_by,
            ],
        )
        .await
        .map_err(pg("adding the version"))?
        .get(0);

    let table = format!(
        "onemap.{}",
        escape_identifier(&format!("features_v{version_id}"))
    );
    let fill = |sql: &str| {
        sql.replace("{table}", &table)
            .replace("{id}", &version_id.to_string())
    };
    match &req.parallel {
        Some(parallel) => {
            *staging = Some(Staging::create(parallel, file, &table, version_id, &fill).await?);
        }
        None => tx
            .batch_execute(&fill(include_str!("sql/create_partition.sql")))
            .await
            .map_err(pg("creating the version's partition"))?,
    }

    if let Some(progress) = &req.progress {
        let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        progress.start(size, opened.source.feature_count());
    }
    let sha256 = opened.sha256.clone();
    let (encoding, encoding_source) = opened.source.encoding().unzip();
    let expected = existing.as_ref().map(|l| (req.layer.clone(), l.kind));
    // Geographic coordinates get their Web-Mercator copy and area from the client's workers;
    // other SRIDs from the partition's trigger, as the rows arrive. FREEZE: the table was
    // created in this transaction, so nobody else can see it, and readers after the commit
    // need not rewrite every page to set hint bits. (No comment in these two SQL files: the
    // fault tests find the COPY in pg_stat_activity by its text.)
    let derive = client_derives(crs.srid);
    // A staging table was committed by another connection: no FREEZE there.
    let copy_sql = match (derive, staging.is_some()) {
        (true, false) => include_str!("sql/copy_rows_derived.sql"),
        (false, false) => include_str!("sql/copy_rows.sql"),
        (true, true) => include_str!("sql/copy_rows_derived_staged.sql"),
        (false, true) => include_str!("sql/copy_rows_staged.sql"),
    };
    let phase = Instant::now();
    let reading = Reading {
        file,
        opened,
        version_id,
        srid: crs.srid,
        expected,
        progress: req.progress.clone(),
        derive,
    };
    let (summary, written, unchecked) = match staging.as_ref() {
        Some(staging) => copy_rows_parallel(staging.streams(), &fill(copy_sql), reading).await?,
        None => copy_rows(&tx, &fill(copy_sql), reading).await?,
    };

    let kind = match (summary.kind, &existing, declared) {
        (Some(kind), _, _) => kind,
        (None, Some(layer), _) => layer.kind,
        (None, None, Some(kind)) => kind,
        (None, None, None) => {
            return Err(IngestError::NoFeatures {
                file: file.to_owned(),
            });
        }
    };

    tracing::debug!(version_id, derive, ms = elapsed_ms(phase), "rows copied");
    // The staging table's indexes, and its extent meanwhile (kept if the repair changes no
    // geometry). Before the repair: its updates, uncommitted in this transaction, would block
    // them.
    let mut extent = None;
    if let Some(staging) = staging.as_ref() {
        let phase = Instant::now();
        extent = Some(staging.build_indexes(file, &fill).await?);
        tracing::debug!(
            version_id,
            ms = elapsed_ms(phase),
            "staging table indexed, extent computed"
        );
    }
    let phase = Instant::now();
    let fixed = repair(
        &tx,
        file,
        &fill,
        kind,
        summary.mixed_multi,
        unchecked.as_deref(),
    )
    .await?;
    tracing::debug!(
        version_id,
        ms = elapsed_ms(phase),
        "geometries checked and repaired"
    );
    let phase = Instant::now();
    let written = written - fixed.dropped;

    let attach = if staging.is_some() {
        include_str!("sql/attach_staged.sql")
    } else {
        include_str!("sql/index_and_attach.sql")
    };
    tx.batch_execute(&fill(attach))
        .await
        .map_err(pg("indexing and attaching the partition"))?;
    tracing::debug!(version_id, ms = elapsed_ms(phase), "indexed and attached");
    let phase = Instant::now();
    // A repair, a dropped row or a promotion to multi (whose geom_3857 the server recomputes)
    // may move the extent.
    let unchanged_geometries = fixed.repaired == 0 && fixed.dropped == 0 && !summary.mixed_multi;
    let extent = match extent.filter(|_| unchanged_geometries) {
        Some(extent) => extent,
        None => tx
            .query_one(&fill(include_str!("sql/version_extent.sql")), &[])
            .await
            .map_err(pg("computing the version's extent"))?,
    };
    tracing::debug!(version_id, ms = elapsed_ms(phase), "extent computed");
    let count: i64 = extent.get("n");
    let bbox = match (
        extent.get::<_, Option<f64>>("west"),
        extent.get::<_, Option<f64>>("south"),
        extent.get::<_, Option<f64>>("east"),
        extent.get::<_, Option<f64>>("north"),
    ) {
        (Some(w), Some(s), Some(e), Some(n)) => Some([w, s, e, n]),
        _ => None,
    };
    tx.execute(
        include_str!("sql/finish_version.sql"),
        &[&version_id, &count, &bbox.map(|b| b.to_vec())],
    )
    .await
    .map_err(pg("recording the version's count and extent"))?;

    if created_layer {
        let class_field = req.class_field.clone().or(summary.class_field);
        let theme = req.theme.clone().unwrap_or_else(|| {
            if class_field.is_some() {
                "land_use".into()
            } else {
                "human_activity".into()
            }
        });
        tx.execute(
            include_str!("sql/finish_layer.sql"),
            &[&layer_key, &kind.as_str(), &theme, &class_field],
        )
        .await
        .map_err(pg("recording the layer's geometry type and theme"))?;
    }
    tx.commit()
        .await
        .map_err(pg("committing the new version"))?;

    Ok(IngestReport {
        layer: req.layer.clone(),
        created_layer,
        version_id,
        year: req.year,
        label,
        features_read: summary.read,
        features_written: written,
        features_repaired: fixed.repaired,
        features_rejected: summary.rejected + fixed.dropped,
        rejections: {
            let mut r = summary.rejections.clone();
            r.extend(fixed.rejections);
            r.truncate(crate::sink::MAX_EXAMPLES);
            r
        },
        encoding,
        encoding_source,
        notes: summary.notes.iter().cloned().chain(fixed.notes).collect(),
        geometry_type: kind.as_str().into(),
        srid: crs.srid,
        srid_source: crs.source,
        bbox,
        sha256,
        source_file,
        duration_ms: elapsed_ms(started),
        unchanged: false,
    })
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

async fn check_department(
    tx: &Transaction<'_>,
    file: &Path,
    department: &str,
) -> Result<(), IngestError> {
    let valid: Vec<String> = tx
        .query(include_str!("sql/departments.sql"), &[])
        .await
        .map_err(IngestError::pg(file, "reading the departments"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if valid.iter().any(|d| d == department) {
        Ok(())
    } else {
        Err(IngestError::UnknownDepartment {
            file: file.to_owned(),
            department: department.to_owned(),
            valid,
        })
    }
}

/// Locks the layer if it exists, checking that the requester owns it and that the file's
/// declared geometry type fits.
async fn lock_layer(
    tx: &Transaction<'_>,
    req: &IngestRequest,
    declared: Option<GeometryKind>,
) -> Result<Option<ExistingLayer>, IngestError> {
    let file = req.path.as_path();
    let Some(row) = tx
        .query_opt(include_str!("sql/lock_layer.sql"), &[&req.layer])
        .await
        .map_err(IngestError::pg(file, "locking the layer"))?
    else {
        return Ok(None);
    };
    let owner: String = row.get("department");
    if owner != req.department {
        return Err(IngestError::NotOwner {
            file: file.to_owned(),
            layer: req.layer.clone(),
            owner,
            department: req.department.clone(),
        });
    }
    let type_name: String = row.get("geometry_type");
    let kind = GeometryKind::parse(&type_name).ok_or_else(|| IngestError::Internal {
        file: file.to_owned(),
        detail: format!("layer {:?} has geometry type {type_name:?}", req.layer),
    })?;
    if let Some(declared) = declared.filter(|d| *d != kind) {
        return Err(IngestError::GeometryTypeMismatch {
            file: file.to_owned(),
            layer: req.layer.clone(),
            layer_type: kind.to_string(),
            file_type: declared.to_string(),
            feature: None,
        });
    }
    Ok(Some(ExistingLayer {
        key: row.get("key"),
        kind,
    }))
}

/// The report of the newest version of this year when it came from the very same file (and,
/// with `--srid`, was stored in the same SRID).
async fn unchanged(
    tx: &Transaction<'_>,
    req: &IngestRequest,
    layer: &ExistingLayer,
    sha256: &str,
    crs: &Crs,
    started: Instant,
) -> Result<Option<IngestReport>, IngestError> {
    let file = req.path.as_path();
    let Some(v) = tx
        .query_opt(
            include_str!("sql/newest_version.sql"),
            &[&layer.key, &req.year],
        )
        .await
        .map_err(IngestError::pg(file, "reading the newest version"))?
    else {
        return Ok(None);
    };
    let srid: i32 = v.get("srid");
    if v.get::<_, String>("source_sha256") != sha256 || srid != crs.srid {
        return Ok(None);
    }
    let count = u64::try_from(v.get::<_, i64>("feature_count")).unwrap_or(0);
    let bbox = v
        .get::<_, Option<Vec<f64>>>("bbox")
        .and_then(|b| <[f64; 4]>::try_from(b).ok());
    Ok(Some(IngestReport {
        layer: req.layer.clone(),
        created_layer: false,
        version_id: v.get("id"),
        year: req.year,
        label: v.get("label"),
        features_read: count,
        features_written: count,
        features_repaired: 0,
        features_rejected: 0,
        rejections: Vec::new(),
        encoding: None,
        encoding_source: None,
        notes: vec!["the same file is already this version: nothing was read".into()],
        geometry_type: layer.kind.as_str().into(),
        srid,
        srid_source: crs.source.clone(),
        bbox,
        sha256: sha256.to_owned(),
        source_file: req.source_file(),
        duration_ms: elapsed_ms(started),
        unchanged: true,
    }))
}

/// Inserts a new layer. Its geometry type and theme are provisional until the features are
/// read; nobody sees them before the commit.
async fn insert_layer(
    tx: &Transaction<'_>,
    req: &IngestRequest,
    declared: Option<GeometryKind>,
) -> Result<i32, IngestError> {
    let file = req.path.as_path();
    let title_zh = req.title_zh.clone().unwrap_or_else(|| req.layer.clone());
    let title_en = req.title_en.clone().unwrap_or_else(|| req.layer.clone());
    let theme = req.theme.as_deref().unwrap_or("human_activity");
    let kind = declared.unwrap_or(GeometryKind::Polygon);
    let row = tx
        .query_opt(
            include_str!("sql/insert_layer.sql"),
            &[
                &req.layer,
                &title_zh,
                &title_en,
                &req.department,
                &theme,
                &kind.as_str(),
                &req.class_field,
            ],
        )
        .await
        .map_err(IngestError::pg(file, "creating the layer"))?;
    match row {
        Some(row) => Ok(row.get(0)),
        None => Err(IngestError::InvalidRequest {
            file: file.to_owned(),
            detail: format!(
                "layer {:?} was created by another ingest at the same time; run this one again",
                req.layer
            ),
        }),
    }
}

/// Streams the features into the partition: the reader encodes rows on a blocking thread and
/// sends chunks through a bounded channel, so memory stays flat whatever the file's size. With
/// `derive`, worker threads append each row's `geom_3857` and `area_m2` to the chunks, which
/// reach the COPY in the reader's order (so a refused row is still named by its number).
async fn copy_rows(
    tx: &Transaction<'_>,
    copy_sql: &str,
    reading: Reading<'_>,
) -> Result<(SinkSummary, u64, Option<Vec<i64>>), IngestError> {
    let (file, derive) = (reading.file, reading.derive);
    let pg = |context: &str| IngestError::pg(file, context.to_owned());
    let sink = tx
        .copy_in::<_, Bytes>(copy_sql)
        .await
        .map_err(pg("starting the COPY"))?;
    let mut sink = std::pin::pin!(sink);
    let (reader, mut chunks) = reading.start();
    let mut write_error = sink
        .as_mut()
        .send(Bytes::from_static(COPY_HEADER))
        .await
        .err();
    let mut derive_error = None;
    // The fids whose validity the client did not prove; `None`: the server checks every row.
    let mut unchecked = derive.then(Vec::new);
    if write_error.is_none() {
        while let Some(chunk) = chunks.next_noting(&mut unchecked).await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    derive_error = Some(e);
                    break;
                }
            };
            if let Err(e) = sink.as_mut().send(chunk).await {
                write_error = Some(e);
                break;
            }
        }
    }
    // Closing the channel stops a reader still sending after a write error.
    drop(chunks);
    let read = join_reader(reader, file).await?;
    if let Some(e) = write_error {
        return Err(copy_error(file, e));
    }
    if let Some(e) = derive_error {
        return Err(derive_failed(file, &e));
    }
    // On a read error the sink is dropped unfinished, which aborts the COPY.
    let summary = read?;
    sink.as_mut()
        .send(Bytes::from_static(COPY_TRAILER))
        .await
        .map_err(|e| copy_error(file, e))?;
    let written = sink
        .as_mut()
        .finish()
        .await
        .map_err(|e| copy_error(file, e))?;
    Ok((summary, written, unchecked))
}

/// The context of an error of one parallel COPY stream ([`crate::ingest`] loads the file again
/// in one stream when the server refused a row, to name the feature).
pub(crate) const STREAM_CONTEXT: &str = "copying the features in a parallel stream";

/// [`copy_rows`] over several connections into a staging table: the reader's chunks (with their
/// derivatives) are handed to whichever stream is free, each stream one COPY of its share.
/// Memory stays flat: every queue on the way is bounded.
async fn copy_rows_parallel(
    streams: &[Client],
    copy_sql: &str,
    reading: Reading<'_>,
) -> Result<(SinkSummary, u64, Option<Vec<i64>>), IngestError> {
    let (file, derive) = (reading.file, reading.derive);
    let (reader, mut chunks) = reading.start();
    let (out_tx, out_rx) = mpsc::channel::<Bytes>(streams.len());
    let out_rx = std::sync::Arc::new(tokio::sync::Mutex::new(out_rx));
    let writing =
        futures::future::join_all(streams.iter().map(|c| stream_copy(c, copy_sql, &out_rx)));
    let dispatching = async move {
        let mut derive_error = None;
        let mut unchecked = derive.then(Vec::new);
        while let Some(chunk) = chunks.next_noting(&mut unchecked).await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    derive_error = Some(e);
                    break;
                }
            };
            // Closed: a stream failed (its error is the one reported).
            if out_tx.send(chunk).await.is_err() {
                break;
            }
        }
        // Closing the channels ends the streams' COPYs and stops a reader still sending.
        drop(out_tx);
        drop(chunks);
        (derive_error, unchecked)
    };
    let (written, (derive_error, unchecked)) = tokio::join!(writing, dispatching);
    let read = join_reader(reader, file).await?;
    let mut total = 0;
    for result in written {
        total += result.map_err(IngestError::pg(file, STREAM_CONTEXT))?;
    }
    if let Some(e) = derive_error {
        return Err(derive_failed(file, &e));
    }
    // On a read error the staging table holds part of the rows; it is dropped.
    let summary = read?;
    Ok((summary, total, unchecked))
}

/// One COPY stream: takes chunks until the channel closes. A failed stream closes the channel,
/// which stops the dispatcher and, through it, the reader.
async fn stream_copy(
    client: &Client,
    copy_sql: &str,
    chunks: &tokio::sync::Mutex<mpsc::Receiver<Bytes>>,
) -> Result<u64, tokio_postgres::Error> {
    let result = async {
        let sink = client.copy_in::<_, Bytes>(copy_sql).await?;
        let mut sink = std::pin::pin!(sink);
        sink.as_mut().send(Bytes::from_static(COPY_HEADER)).await?;
        loop {
            let next = chunks.lock().await.recv().await;
            match next {
                Some(chunk) => sink.as_mut().send(chunk).await?,
                None => break,
            }
        }
        sink.as_mut().send(Bytes::from_static(COPY_TRAILER)).await?;
        sink.as_mut().finish().await
    }
    .await;
    if result.is_err() {
        chunks.lock().await.close();
    }
    result
}

/// Chunks of COPY rows on their way to the database, in the reader's order.
/// What the reader of one ingest needs.
struct Reading<'a> {
    file: &'a Path,
    opened: Opened,
    version_id: i64,
    srid: i32,
    expected: Option<(String, GeometryKind)>,
    progress: Option<std::sync::Arc<crate::IngestProgress>>,
    /// The client derives `geom_3857` and `area_m2` (its derive workers sit between the reader
    /// and the COPY).
    derive: bool,
}

impl Reading<'_> {
    /// The reader on a blocking thread, and its chunks.
    fn start(
        self,
    ) -> (
        tokio::task::JoinHandle<Result<SinkSummary, IngestError>>,
        Chunks,
    ) {
        let (chunk_tx, chunk_rx) = mpsc::channel::<Bytes>(CHANNEL_DEPTH);
        let (file, version_id, srid, expected, progress) = (
            self.file.to_owned(),
            self.version_id,
            self.srid,
            self.expected,
            self.progress,
        );
        let mut source = self.opened.source;
        let reader = tokio::task::spawn_blocking(move || {
            let mut rows = RowSink::new(&file, version_id, srid, expected, chunk_tx);
            rows.report_progress(progress);
            source.read(&mut rows)?;
            rows.finish()
        });
        let chunks = if self.derive {
            Chunks::Derived(spawn_derivers(chunk_rx))
        } else {
            Chunks::Plain(chunk_rx)
        };
        (reader, chunks)
    }
}

/// What the reader ended with (its own error inside), or the failure of its task.
async fn join_reader(
    reader: tokio::task::JoinHandle<Result<SinkSummary, IngestError>>,
    file: &Path,
) -> Result<Result<SinkSummary, IngestError>, IngestError> {
    reader.await.map_err(|e| IngestError::Internal {
        file: file.to_owned(),
        detail: format!("the reader task failed: {e}"),
    })
}

fn derive_failed(file: &Path, e: &Malformed) -> IngestError {
    IngestError::Internal {
        file: file.to_owned(),
        detail: format!("deriving geom_3857 and area_m2: {e}"),
    }
}

enum Chunks {
    /// As the reader encoded them.
    Plain(mpsc::Receiver<Bytes>),
    /// Each chunk's rows with their derivatives, awaited in order.
    Derived(mpsc::Receiver<oneshot::Receiver<DerivedChunk>>),
}

/// A chunk with its derivatives, and the fids of its rows whose validity is not proven.
type DerivedChunk = Result<(Bytes, Vec<i64>), Malformed>;

/// Beyond this many rows to check, the server checks them all (one scan) rather than a list.
const MAX_LISTED_CHECKS: usize = 100_000;

impl Chunks {
    /// The next chunk, its unproven fids added to `unchecked` (which becomes `None`, the server
    /// checking every row, past [`MAX_LISTED_CHECKS`] or for a chunk the client did not check).
    async fn next_noting(
        &mut self,
        unchecked: &mut Option<Vec<i64>>,
    ) -> Option<Result<Bytes, Malformed>> {
        let (chunk, fids) = match self.next().await? {
            Ok(next) => next,
            Err(e) => return Some(Err(e)),
        };
        match (&mut *unchecked, fids) {
            (Some(all), Some(fids)) if all.len() + fids.len() <= MAX_LISTED_CHECKS => {
                all.extend(fids);
            }
            _ => *unchecked = None,
        }
        Some(Ok(chunk))
    }

    /// The next chunk, and the fids it adds to the list to check (`None`: check all).
    async fn next(&mut self) -> Option<Result<(Bytes, Option<Vec<i64>>), Malformed>> {
        match self {
            Self::Plain(rx) => rx.recv().await.map(|chunk| Ok((chunk, None))),
            Self::Derived(rx) => {
                let pending = rx.recv().await?;
                Some(
                    pending
                        .await
                        .unwrap_or_else(|_| Err(Malformed("a derive worker stopped".into())))
                        .map(|(chunk, fids)| (chunk, Some(fids))),
                )
            }
        }
    }
}

/// Starts one [`Deriver`] thread per core, fed by a dispatcher that hands out the reader's
/// chunks and queues, in the same order, the receivers of their results. Everything stops
/// when the returned receiver is dropped or the reader's channel closes; the queues are
/// bounded, so memory stays flat.
fn spawn_derivers(
    mut input: mpsc::Receiver<Bytes>,
) -> mpsc::Receiver<oneshot::Receiver<DerivedChunk>> {
    type Job = (Bytes, oneshot::Sender<DerivedChunk>);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8));
    let (order_tx, order_rx) = mpsc::channel(workers * 2);
    let (job_tx, job_rx) = std::sync::mpsc::sync_channel::<Job>(workers);
    let job_rx = std::sync::Arc::new(std::sync::Mutex::new(job_rx));
    for _ in 0..workers {
        let job_rx = job_rx.clone();
        std::thread::spawn(move || {
            let mut deriver = Deriver::new();
            loop {
                let job = job_rx.lock().map(|rx| rx.recv());
                let Ok(Ok((chunk, reply))) = job else { break };
                let mut out = Vec::with_capacity(chunk.len() * 2);
                let mut unchecked = Vec::new();
                let result = deriver
                    .derive_chunk(&chunk, &mut out, &mut unchecked)
                    .map(|()| (Bytes::from(out), unchecked));
                // The receiver is gone only when the COPY stopped.
                let _ = reply.send(result);
            }
        });
    }
    tokio::task::spawn_blocking(move || {
        while let Some(chunk) = input.blocking_recv() {
            let (reply, pending) = oneshot::channel();
            if order_tx.blocking_send(pending).is_err() || job_tx.send((chunk, reply)).is_err() {
                break;
            }
        }
    });
    order_rx
}

/// A row the server refused (say, a coordinate outside its projection's domain) is reported
/// as that feature: COPY's context names the 1-based data line, which is the feature number.
fn copy_error(file: &Path, e: tokio_postgres::Error) -> IngestError {
    let line = e.as_db_error().and_then(|db| {
        let context = db.where_()?;
        let rest = &context[context.find(", line ")? + ", line ".len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        Some((digits.parse::<u64>().ok()?, db.message().to_owned()))
    });
    match line {
        Some((feature, problem)) => IngestError::Feature {
            file: file.to_owned(),
            feature,
            field: None,
            problem: format!("the database refused it: {problem}"),
        },
        None => IngestError::pg(file, "copying the features")(e),
    }
}

/// What the repair step changed.
struct Repaired {
    repaired: u64,
    dropped: u64,
    rejections: Vec<crate::sink::Rejection>,
    notes: Vec<String>,
}

/// Repairs invalid geometries with `ST_MakeValid` (keeping the layer's dimension), drops those
/// with nothing left, and promotes single geometries to multi when the version mixes them
/// (the reader saw both, or a repair split a polygon). Runs on the unattached partition.
/// `unchecked` lists the only rows that may be invalid (the client proved the others valid);
/// `None` checks them all.
async fn repair(
    tx: &Transaction<'_>,
    file: &Path,
    fill: &impl Fn(&str) -> String,
    kind: GeometryKind,
    mixed: bool,
    unchecked: Option<&[i64]>,
) -> Result<Repaired, IngestError> {
    let pg = |context: &str| IngestError::pg(file, context.to_owned());
    let dim: i32 = match kind {
        GeometryKind::Point => 1,
        GeometryKind::Line => 2,
        GeometryKind::Polygon => 3,
    };
    let rows = match unchecked {
        None => tx
            .query(&fill(include_str!("sql/repair.sql")), &[&dim])
            .await
            .map_err(pg("repairing invalid geometries"))?,
        Some([]) => Vec::new(),
        Some(fids) => tx
            .query(&fill(include_str!("sql/repair_listed.sql")), &[&dim, &fids])
            .await
            .map_err(pg("repairing invalid geometries"))?,
    };
    let mut out = Repaired {
        repaired: 0,
        dropped: 0,
        rejections: Vec::new(),
        notes: Vec::new(),
    };
    let mut empty = Vec::new();
    for row in &rows {
        let fid: i64 = row.get(0);
        if row.get::<_, bool>(1) {
            empty.push(fid);
            out.rejections.push(crate::sink::Rejection {
                feature: u64::try_from(fid).unwrap_or(0),
                field: Some("geometry".into()),
                reason: format!(
                    "invalid {kind} geometry with no {kind} left after ST_MakeValid (fid {fid})"
                ),
            });
        } else {
            out.repaired += 1;
        }
    }
    if !empty.is_empty() {
        out.dropped = tx
            .execute(&fill(include_str!("sql/drop_empty.sql")), &[&empty])
            .await
            .map_err(pg("dropping geometries that repair emptied"))?;
    }
    if out.repaired > 0 {
        out.notes.push(format!(
            "{} invalid geometries repaired with ST_MakeValid",
            out.repaired
        ));
    }
    if mixed || out.repaired > 0 {
        let promoted = tx
            .execute(&fill(include_str!("sql/promote_multi.sql")), &[])
            .await
            .map_err(pg("promoting single geometries to multi"))?;
        if promoted > 0 {
            out.notes.push(format!(
                "{promoted} single geometries promoted to multi (the file mixes single and multi types)"
            ));
        }
    }
    Ok(out)
}
