//! `onemap ledger import FILE [--batch NAME]` (a batch of remote-sensing clues, GeoJSON or CSV
//! with lon/lat: bad rows listed with their row number and reason, the good ones loaded and
//! enriched, a re-import adding nothing) and `onemap ledger overdue` (the clues rectifying past
//! their deadline, for a daily job; exits 0 whatever it finds). Both act as the local operator.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use onemap_access::Acting;
use onemap_ledger::{EnrichLayers, ImportRequest};

#[derive(Args)]
pub struct LedgerArgs {
    #[command(subcommand)]
    action: LedgerAction,
}

#[derive(Subcommand)]
enum LedgerAction {
    /// Import a batch of clues (GeoJSON, or CSV with lon/lat columns).
    Import {
        file: PathBuf,
        /// The batch's name (default: the file name without extension).
        #[arg(long)]
        batch: Option<String>,
        /// The land-use survey layer the clues are enriched from.
        #[arg(long, default_value = "dltb")]
        landuse_layer: String,
        #[arg(long)]
        json: bool,
    },
    /// List the clues rectifying past their deadline.
    Overdue {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(ctx: &super::Context, args: LedgerArgs) -> anyhow::Result<()> {
    super::with_database(ctx, async |db| {
        let mut client = db.connect().await?;
        let operator = std::env::var("ONEMAP_USER")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "operator".into());
        match args.action {
            LedgerAction::Import {
                file,
                batch,
                landuse_layer,
                json,
            } => {
                let req = ImportRequest {
                    path: file.clone(),
                    batch,
                    layers: EnrichLayers {
                        landuse: landuse_layer,
                        ..EnrichLayers::default()
                    },
                };
                let report = onemap_ledger::import::import(
                    &mut client,
                    &Acting::operator(operator),
                    &req,
                )
                .await
                .with_context(|| format!("importing {}", file.display()))?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                } else {
                    println!(
                        "batch {}: {} rows, {} clues imported, {} already in the ledger, {} rejected",
                        report.batch,
                        report.rows,
                        report.imported,
                        report.already_present,
                        report.rejected.len()
                    );
                    for r in &report.rejected {
                        println!(
                            "  row {}{}: {}",
                            r.row,
                            r.clue_id
                                .as_deref()
                                .map(|c| format!(" ({c})"))
                                .unwrap_or_default(),
                            r.reason
                        );
                    }
                }
            }
            LedgerAction::Overdue { json } => {
                let clues = onemap_ledger::clues::overdue(&client).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&clues)?);
                } else {
                    println!("{} overdue clue(s)", clues.len());
                    for c in &clues {
                        println!(
                            "{}\t{}\t{}\t{}\tdeadline {}\tlead {}",
                            c.id,
                            c.clue_id,
                            c.source,
                            c.activity,
                            c.deadline.as_deref().unwrap_or(""),
                            c.lead_department.as_deref().unwrap_or("")
                        );
                    }
                }
            }
        }
        Ok(())
    })
    .await
}
