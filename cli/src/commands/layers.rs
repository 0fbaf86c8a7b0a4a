//! `onemap layers`: the whole catalog (the operator sees every layer); `onemap layers
//! set-access` changes who may see a layer.

use clap::{Args, Subcommand};
use onemap_schemas::authz::Principal;
use onemap_schemas::catalog;

#[derive(Args)]
pub struct LayersArgs {
    /// Print JSON (as `GET /api/layers`) instead of a table.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    action: Option<LayersAction>,
}

#[derive(Subcommand)]
enum LayersAction {
    /// Set a layer's access level (public, internal, restricted) and its share list.
    SetAccess {
        layer: String,
        /// public (anyone), internal (signed-in users), restricted (owner and shared departments).
        level: String,
        /// Departments a restricted layer is shared with, comma-separated (replaces the list;
        /// `--share ""` empties it).
        #[arg(long, value_delimiter = ',')]
        share: Option<Vec<String>>,
    },
}

pub async fn run(ctx: &super::Context, args: LayersArgs) -> anyhow::Result<()> {
    if let Some(LayersAction::SetAccess {
        layer,
        level,
        share,
    }) = &args.action
    {
        let acting = onemap_access::Acting::operator(super::ingest::who_am_i());
        return super::with_database(ctx, async |db| {
            let mut client = db.connect().await?;
            onemap_access::layers::set_access(&mut client, &acting, layer, level, share.as_deref())
                .await?;
            println!("{layer}: {level}");
            Ok(())
        })
        .await;
    }
    super::with_database(ctx, async |db| {
        let client = db.connect().await?;
        // The operator sees every layer, whatever its access level.
        let operator = Principal::Operator(super::ingest::who_am_i());
        let layers = catalog::layers(&client, &operator).await?;
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
