//! `onemap ingest FILE --layer ID --department CODE [--year YYYY]`: a new version of a layer.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use onemap_ingest::{IngestReport, IngestRequest};

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
}

pub async fn run(ctx: &super::Context, args: IngestArgs) -> anyhow::Result<()> {
    let request = IngestRequest {
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
    let report = super::with_database(ctx, async |db| {
        let mut client = db.connect().await?;
        // The CLI acts as the trusted local operator; the publication is audited.
        let acting = onemap_access::Acting::operator(who_am_i());
        Ok(onemap_access::publish::publish(&mut client, &acting, &request).await?)
    })
    .await
    .context("nothing was published")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
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
