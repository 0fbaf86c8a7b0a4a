//! `onemap survey sync PATH [--year YYYY]`: loads the annual land-use change survey's new or
//! changed years into the land-use layer (DLTB fields mapped to their canonical names), then
//! reports unknown land-class codes and parcels whose stated area is off by more than 1%.
//! The domain logic is `onemap_ingest::survey`; publication goes through the audited path.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use onemap_ingest::survey::{self, SurveySyncReport, SurveySyncRequest};

#[derive(Args)]
pub struct SurveyArgs {
    #[command(subcommand)]
    action: SurveyAction,
}

#[derive(Subcommand)]
enum SurveyAction {
    /// Load the new or changed survey years of a delivery file or a folder of yearly deliveries.
    Sync(SyncArgs),
}

#[derive(Args)]
struct SyncArgs {
    /// A delivery (GeoPackage, Shapefile, zip, FlatGeobuf, ...) or a folder of yearly deliveries
    /// (`DLTB_2023.gpkg`, `620725_2023/DLTB.shp`, `2024/…`).
    path: PathBuf,
    /// Survey year (required for a file whose name holds none; for a folder, only this year).
    #[arg(long)]
    year: Option<i32>,
    /// The land-use layer.
    #[arg(long, default_value = survey::DEFAULT_LAYER)]
    layer: String,
    /// The publishing department (the layer's owner).
    #[arg(long, default_value = survey::DEFAULT_DEPARTMENT)]
    department: String,
    /// EPSG code to use instead of the files' own CRS.
    #[arg(long)]
    srid: Option<i32>,
    /// Text encoding of the attributes (UTF-8, GBK, GB18030, ...), instead of detection.
    #[arg(long)]
    encoding: Option<String>,
    /// GeoPackage table (or dataset in a zip) holding the parcels, when there are several.
    #[arg(long)]
    source_layer: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(ctx: &super::Context, args: SurveyArgs) -> anyhow::Result<()> {
    let SurveyAction::Sync(args) = args.action;
    let who = super::ingest::who_am_i();
    let req = SurveySyncRequest {
        path: args.path.clone(),
        year: args.year,
        layer: args.layer.clone(),
        department: args.department.clone(),
        srid: args.srid,
        encoding: args.encoding.clone(),
        source_layer: args.source_layer.clone(),
        ingested_by: who.clone(),
    };
    let report = super::with_database(ctx, async |db| {
        // Survey years publish with ingest's own role, onemap_writer, like `onemap ingest` and
        // the job workers (a partition of onemap.features can only be attached by its owner).
        let url = onemap_jobs::worker_url(db.url()).await?;
        let mut client = onemap_schemas::database::connect(&url).await?;
        // The CLI acts as the trusted local operator; each publication is audited.
        let acting = onemap_access::Acting::operator(who.clone());
        // Each year's rows go over several COPY connections (ONEMAP_INGEST_STREAMS), same role.
        let parallel = onemap_ingest::ParallelCopy::from_env(&url);
        let report = survey::sync(&mut client, &req, async |client, ingest_req| {
            let ingest_req = onemap_ingest::IngestRequest {
                parallel: parallel.clone(),
                ..ingest_req
            };
            onemap_access::publish::publish(client, &acting, &ingest_req)
                .await
                .map_err(|e| e.to_string())
        })
        .await?;
        // Each newly loaded year's trend summaries, oldest year first (a failure is reported;
        // the year stays published).
        let mut precomputed = Vec::new();
        for y in report.loaded() {
            let year = y.report.as_ref().and_then(|r| r.year).or(Some(y.year));
            if let Some(p) =
                onemap_trends::precompute_published(&mut client, &report.layer, year).await
            {
                precomputed.push(p);
            }
        }
        Ok((report, precomputed))
    })
    .await
    .context("survey sync")?;
    let (report, precomputed) = report;
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(object) = value.as_object_mut() {
            object.insert(
                "trend_precompute".to_owned(),
                serde_json::to_value(&precomputed)?,
            );
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print_report(&report);
        for p in &precomputed {
            super::trends::print_published_precompute(&report.layer, p);
        }
    }
    let failed = report.failed().count();
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} survey years failed; the others are published",
        report.years.len()
    );
    Ok(())
}

fn print_report(r: &SurveySyncReport) {
    for y in &r.years {
        if let Some(e) = &y.error {
            println!("{} {}: FAILED, nothing published: {e}", r.layer, y.year);
            continue;
        }
        let Some(report) = &y.report else { continue };
        super::ingest::print_report(report);
        let Some(c) = &y.checks else { continue };
        if !c.missing_fields.is_empty() {
            println!(
                "  DLTB fields missing from the delivery: {}",
                c.missing_fields.join(", ")
            );
        }
        if c.unknown_classes.is_empty() {
            println!("  every DLBM is a GB/T 21010 or working class");
        } else {
            let listed: Vec<String> = c
                .unknown_classes
                .iter()
                .map(|u| {
                    format!(
                        "{} ({} parcels)",
                        u.code.as_deref().unwrap_or("no DLBM"),
                        u.parcels
                    )
                })
                .collect();
            println!(
                "  unknown land-class codes, kept as they are: {}",
                listed.join(", ")
            );
        }
        println!(
            "  {} of {} parcels state a TBMJ more than {}% off the computed area{}",
            c.area_mismatches,
            c.parcels,
            survey::AREA_TOLERANCE * 100.0,
            if c.no_tbmj > 0 {
                format!(" ({} have no TBMJ)", c.no_tbmj)
            } else {
                String::new()
            }
        );
        for m in &c.area_examples {
            println!(
                "    BSM {} (fid {}): TBMJ {:.2} m², computed {:.2} m² ({:+.1}%)",
                m.bsm.as_deref().unwrap_or("?"),
                m.fid,
                m.tbmj,
                m.area_m2,
                if m.area_m2 > 0.0 {
                    (m.tbmj - m.area_m2) / m.area_m2 * 100.0
                } else {
                    f64::INFINITY
                }
            );
        }
    }
    let (loaded, unchanged) = (r.loaded().count(), r.unchanged().count());
    println!(
        "{}: {loaded} survey year(s) loaded, {unchanged} unchanged, {} failed",
        r.layer,
        r.failed().count()
    );
}
