//! `onemap demo`: writes a synthetic Shandan County as ordinary files, loads them through the
//! same ingest path as real files, then serves the map.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use clap::Args;
use onemap_ingest::IngestRequest;

use super::serve::ServeArgs;
use crate::demo::{generate, DemoOptions};

#[derive(Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Land-use parcels per survey year (2019–2024).
    #[arg(long, default_value_t = 50_000)]
    pub parcels: usize,
    /// Seed of the synthetic county.
    #[arg(long, default_value_t = 620_725)]
    pub seed: u64,
    /// Folder for the generated files (default: `demo/` in the data folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Load the demo and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
}

pub async fn run(ctx: &super::Context, args: DemoArgs) -> anyhow::Result<()> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| ctx.data_dir.join("demo"));
    super::with_database(ctx, async |db| {
        let started = Instant::now();
        let opts = DemoOptions {
            parcels: args.parcels,
            seed: args.seed,
        };
        let dir = out.clone();
        let files = tokio::task::spawn_blocking(move || generate(&dir, &opts))
            .await
            .context("demo generator panicked")??;
        let generated = started.elapsed();
        println!(
            "generated {} demo files in {} in {:.1} s",
            files.len(),
            out.display(),
            generated.as_secs_f64()
        );
        let mut client = db.connect().await?;
        for f in &files {
            let request = IngestRequest {
                path: f.path.clone(),
                layer: f.layer.to_owned(),
                department: f.department.to_owned(),
                year: f.year,
                title_zh: Some(f.title_zh.to_owned()),
                title_en: Some(f.title_en.to_owned()),
                theme: Some(f.theme.to_owned()),
                class_field: f.class_field.map(str::to_owned),
                ingested_by: "onemap demo".to_owned(),
                ..IngestRequest::default()
            };
            let report = onemap_ingest::ingest(&mut client, &request)
                .await
                .with_context(|| format!("loading {}", f.path.display()))?;
            super::ingest::print_report(&report);
        }
        let loaded = started.elapsed();
        // Change-trend summary tables, once per survey year, now that the zones are loaded.
        let mut land_use: Vec<&str> = files
            .iter()
            .filter(|f| f.class_field.is_some())
            .map(|f| f.layer)
            .collect();
        land_use.dedup();
        for layer in land_use {
            let report = onemap_trends::precompute(&mut client, layer, None)
                .await
                .with_context(|| format!("precomputing the trends of {layer}"))?;
            super::trends::print_precompute(&report);
        }
        println!(
            "demo loaded in {:.1} s (generation {:.1} s, ingest {:.1} s, trend precompute {:.1} s)",
            started.elapsed().as_secs_f64(),
            generated.as_secs_f64(),
            (loaded - generated).as_secs_f64(),
            (started.elapsed() - loaded).as_secs_f64()
        );
        if args.no_serve {
            return Ok(());
        }
        super::serve::serve(db, &args.serve).await
    })
    .await
}
