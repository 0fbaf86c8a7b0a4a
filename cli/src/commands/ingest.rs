//! `onemap ingest FILE --layer ID --department CODE [--year YYYY]`: a new version of a layer.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressStyle};
use onemap_ingest::{IngestProgress, IngestReport, IngestRequest, ProgressSnapshot};

#[derive(Args)]
pub struct IngestArgs {
    /// The file to load (GeoJSON, GeoPackage, Shapefile .shp, or a .zip of one of these).
    pub file: PathBuf,
    /// Layer id (lower-case letters, digits, `_`); a new id creates the layer.
    #[arg(long)]
    pub layer: String,
    /// Code of the publishing department (see schemas/data/departments.csv).
    #[arg(long)]
    pub department: String,
    /// Survey year of this version.
    #[arg(long)]
    pub year: Option<i32>,
    /// Version label (default: the year, else the file name).
    #[arg(long)]
    pub label: Option<String>,
    /// EPSG code to use instead of the file's own CRS.
    #[arg(long)]
    pub srid: Option<i32>,
    /// Text encoding of a shapefile's attributes or a CSV (UTF-8, GBK, GB18030, ISO-8859-1, ...),
    /// instead of the .cpg, the DBF language byte or detection.
    #[arg(long)]
    pub encoding: Option<String>,
    /// GeoPackage table to load, when the file has several.
    #[arg(long)]
    pub source_layer: Option<String>,
    /// Chinese title of a new layer.
    #[arg(long)]
    pub title_zh: Option<String>,
    /// English title of a new layer.
    #[arg(long)]
    pub title_en: Option<String>,
    /// Theme of a new layer (land_use, protected_areas, forest_grassland, water, wildlife,
    /// human_activity, monitoring, enforcement).
    #[arg(long)]
    pub theme: Option<String>,
    /// Attribute holding the land-class code of a new land-use layer (default: DLBM if present).
    #[arg(long)]
    pub class_field: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Parallel COPY streams into a staging table (default: ONEMAP_INGEST_STREAMS, else one
    /// per core, at least 2); 1 loads in one stream inside the publishing transaction.
    #[arg(long)]
    pub streams: Option<usize>,
}

pub async fn run(ctx: &super::Context, args: IngestArgs) -> anyhow::Result<()> {
    let mut request = IngestRequest {
        path: args.file.clone(),
        layer: args.layer.clone(),
        department: args.department.clone(),
        year: args.year,
        label: args.label.clone(),
        srid: args.srid,
        encoding: args.encoding.clone(),
        source_layer: args.source_layer.clone(),
        title_zh: args.title_zh.clone(),
        title_en: args.title_en.clone(),
        theme: args.theme.clone(),
        class_field: args.class_field.clone(),
        ingested_by: who_am_i(),
        ..IngestRequest::default()
    };
    // A progress bar on a terminal only, and never with --json (stdout stays pure JSON).
    let bar = (!args.json && std::io::stderr().is_terminal())
        .then(|| ProgressDisplay::start(&mut request));
    let report = super::with_database(ctx, async |db| {
        // Ingest writes with its own role, onemap_writer, like the job workers.
        let url = onemap_jobs::worker_url(db.url()).await?;
        let mut client = onemap_schemas::database::connect(&url).await?;
        // The rows go over several COPY connections, with the same role.
        let parallel = match args.streams {
            Some(streams) => (streams >= 2).then(|| onemap_ingest::ParallelCopy {
                url: url.clone(),
                streams,
            }),
            None => onemap_ingest::ParallelCopy::from_env(&url),
        };
        let request = IngestRequest {
            parallel,
            ..request.clone()
        };
        // The CLI acts as the trusted local operator; the publication is audited.
        let acting = onemap_access::Acting::operator(who_am_i());
        let report = onemap_access::publish::publish(&mut client, &acting, &request).await?;
        // A new survey year of a land-use layer: its trend summaries, now (a failure is
        // reported; the version stays published).
        let precomputed = if report.unchanged {
            None
        } else {
            onemap_trends::precompute_published(&mut client, &report.layer, report.year).await
        };
        Ok((report, precomputed))
    })
    .await;
    if let Some(bar) = bar {
        bar.finish().await;
    }
    let (report, precomputed) = report.context("nothing was published")?;
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let (Some(p), Some(object)) = (&precomputed, value.as_object_mut()) {
            object.insert("trend_precompute".to_owned(), serde_json::to_value(p)?);
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print_report(&report);
        if let Some(p) = &precomputed {
            super::trends::print_published_precompute(&report.layer, p);
        }
    }
    Ok(())
}

/// The progress bar on stderr, redrawn from the ingest's [`IngestProgress`] ten times a second:
/// features read, and a bar with the percentage when the format declares its feature count.
struct ProgressDisplay {
    bar: ProgressBar,
    ticker: tokio::task::JoinHandle<()>,
}

impl ProgressDisplay {
    fn start(request: &mut IngestRequest) -> Self {
        let progress = Arc::new(IngestProgress::new());
        request.progress = Some(progress.clone());
        let bar = ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::stderr());
        bar.set_style(spinner_style());
        let shown = bar.clone();
        let ticker = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            let mut with_bar = false;
            loop {
                tick.tick().await;
                let s = progress.snapshot();
                if let Some(p) = s.percent {
                    if !with_bar {
                        shown.set_style(bar_style());
                        with_bar = true;
                    }
                    shown.set_position((f64::from(p) * 10.0) as u64);
                }
                shown.set_message(progress_line(&s));
                shown.tick();
            }
        });
        Self { bar, ticker }
    }

    /// Stops redrawing and clears the bar, so the report is printed as without one.
    async fn finish(self) {
        self.ticker.abort();
        let _ = self.ticker.await;
        self.bar.finish_and_clear();
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} [{bar:30}] {msg} ({elapsed}, {eta} left)")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// The text beside the bar: features read, and the percentage when it is known.
fn progress_line(s: &ProgressSnapshot) -> String {
    let rows = format!("{} features read", HumanCount(s.rows));
    match s.percent {
        Some(p) => format!("{rows}, {p:.0}%"),
        None => rows,
    }
}

/// One human-readable line per ingest.
pub fn print_report(r: &IngestReport) {
    if r.unchanged {
        println!(
            "{} {}: unchanged (same file as version {}), {} features",
            r.layer, r.label, r.version_id, r.features_written
        );
        return;
    }
    println!(
        "{} {}: {} of {} features published as version {} ({}, SRID {} from {}) in {:.1} s",
        r.layer,
        r.label,
        r.features_written,
        r.features_read,
        r.version_id,
        r.geometry_type,
        r.srid,
        r.srid_source,
        r.duration_ms as f64 / 1000.0
    );
    if r.features_repaired > 0 || r.features_rejected > 0 {
        println!(
            "  {} repaired, {} rejected",
            r.features_repaired, r.features_rejected
        );
        for x in &r.rejections {
            println!(
                "  rejected feature {}{}: {}",
                x.feature,
                x.field
                    .as_ref()
                    .map(|f| format!(" ({f})"))
                    .unwrap_or_default(),
                x.reason
            );
        }
    }
    if let (Some(e), Some(s)) = (&r.encoding, &r.encoding_source) {
        println!("  text encoding {e} ({s})");
    }
    for note in &r.notes {
        println!("  note: {note}");
    }
}

/// The name recorded as `ingested_by`.
pub fn who_am_i() -> String {
    std::env::var("ONEMAP_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "onemap".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_line_shows_rows_and_the_percentage_only_when_known() {
        let unknown = ProgressSnapshot {
            rows: 1_234_567,
            bytes_read: None,
            bytes_total: 0,
            percent: None,
        };
        assert_eq!(progress_line(&unknown), "1,234,567 features read");
        let known = ProgressSnapshot {
            rows: 420,
            bytes_read: Some(42_000),
            bytes_total: 100_000,
            percent: Some(42.4),
        };
        assert_eq!(progress_line(&known), "420 features read, 42%");
    }
}
