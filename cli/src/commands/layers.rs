//! `onemap layers`: the catalog as the public sees it.

use clap::Args;
use onemap_schemas::authz::Principal;
use onemap_schemas::catalog;

#[derive(Args)]
pub struct LayersArgs {
    /// Print JSON (as `GET /api/layers`) instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn run(ctx: &super::Context, args: LayersArgs) -> anyhow::Result<()> {
    super::with_database(ctx, async |db| {
        let client = db.connect().await?;
        let layers = catalog::layers(&client, &Principal::Anonymous).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&layers)?);
            return Ok(());
        }
        if layers.is_empty() {
            println!(
                "no layers yet: load one with `onemap ingest FILE --layer ID --department CODE`"
            );
        }
        for l in &layers {
            println!(
                "{:<24} {:<8} {:<16} {:<8} {} / {}",
                l.id, l.department, l.theme, l.geometry_type, l.title_zh, l.title_en
            );
            for v in &l.versions {
                println!(
                    "    {:<10} {:>9} features  SRID {:<5}  {}  {}",
                    v.label, v.feature_count, v.srid, v.ingested_at, v.source_file
                );
            }
        }
        Ok(())
    })
    .await
}
