//! `onemap ledger import FILE [--batch NAME]` (a batch of remote-sensing clues, GeoJSON, CSV
//! with lon/lat, XLSX, or a Shapefile (.shp or a .zip holding one, any CRS its .prj names):
//! bad rows listed with their row number and reason, the good ones loaded and enriched, a
//! re-import adding nothing), `onemap ledger overdue` (the clues rectifying past their
//! deadline, for a daily job; exits 0 whatever it finds), `onemap ledger export [--format
//! csv|xlsx] [--output FILE]`, `onemap ledger summary --period 2026H1 [--format
//! json|csv|xlsx] [--output FILE]` and `onemap ledger rules list|set|delete` (the suggested
//! departments; a change re-assigns the pending clues). All act as the local operator.

use std::io::Write as _;
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
    /// Import a batch of clues (GeoJSON, CSV with lon/lat columns, or XLSX).
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
    /// Export the ledger (every clue, or those matching the filters).
    Export {
        /// csv or xlsx (default: from the output's extension, else csv).
        #[arg(long)]
        format: Option<String>,
        /// Where to write (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        department: Option<String>,
        #[arg(long)]
        station: Option<String>,
        #[arg(long)]
        source: Option<String>,
    },
    /// Half-year or annual summary: counts and areas by zone, activity, status, department.
    Summary {
        /// 2026H1, 2026H2 or 2026.
        #[arg(long)]
        period: String,
        /// json, csv or xlsx (default: from the output's extension, else a table).
        #[arg(long)]
        format: Option<String>,
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// The rules that suggest lead and responsible departments.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
}

#[derive(Subcommand)]
enum RulesAction {
    /// List the rules.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add a rule, or change rule --id.
    Set {
        #[arg(long)]
        id: Option<i32>,
        /// An activity (mining, construction, road, hydropower, tourism_facility, grazing,
        /// reclamation, other) or * for any.
        #[arg(long)]
        activity: String,
        /// Only for clues inside a reserve zone.
        #[arg(long)]
        in_reserve_only: bool,
        /// The lead department's code, or station.
        #[arg(long)]
        lead: Option<String>,
        /// Responsible departments' codes (or station), comma-separated.
        #[arg(long, value_delimiter = ',')]
        responsible: Vec<String>,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Delete rule ID.
    Delete { id: i32 },
}

/// The format asked for, else the output file's extension, else `fallback`.
fn format_of(format: Option<String>, output: Option<&PathBuf>, fallback: &str) -> String {
    format
        .or_else(|| {
            output
                .and_then(|o| o.extension())
                .map(|e| e.to_string_lossy().to_lowercase())
        })
        .unwrap_or_else(|| fallback.to_owned())
}

fn write_out(output: Option<&PathBuf>, bytes: &[u8]) -> anyhow::Result<()> {
    match output {
        Some(path) => {
            std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
        }
        None => std::io::stdout()
            .write_all(bytes)
            .context("writing to standard output"),
    }
}

fn print_rules(rules: &[onemap_ledger::rules::Rule]) {
    for r in rules {
        println!(
            "{}\t{}{}\tlead {}\tresponsible {}\t{}",
            r.id.unwrap_or_default(),
            r.activity,
            if r.in_reserve_only {
                " (in reserve)"
            } else {
                ""
            },
            r.lead.as_deref().unwrap_or("-"),
            if r.responsible.is_empty() {
                "-".to_owned()
            } else {
                r.responsible.join(",")
            },
            r.note
        );
    }
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
            LedgerAction::Export {
                format,
                output,
                status,
                department,
                station,
                source,
            } => {
                let filter = onemap_ledger::ClueFilter {
                    status,
                    department,
                    station,
                    source,
                    overdue: None,
                };
                let who = onemap_access::Principal::Operator(operator);
                let clues = onemap_ledger::clues::list(&client, &who, &filter).await?;
                let bytes = match format_of(format, output.as_ref(), "csv").as_str() {
                    "csv" => onemap_ledger::clues::export_csv(&clues)?,
                    "xlsx" => onemap_ledger::clues::export_xlsx(&clues)?,
                    other => anyhow::bail!("--format must be csv or xlsx, not {other:?}"),
                };
                write_out(output.as_ref(), &bytes)?;
                if let Some(o) = &output {
                    eprintln!("{} clue(s) written to {}", clues.len(), o.display());
                }
            }
            LedgerAction::Summary {
                period,
                format,
                output,
            } => {
                let period = onemap_ledger::summary::Period::parse(&period)?;
                let who = onemap_access::Principal::Operator(operator);
                let summary = onemap_ledger::summary::summary(&client, &who, &period).await?;
                match format_of(format, output.as_ref(), "table").as_str() {
                    "json" => write_out(
                        output.as_ref(),
                        (serde_json::to_string_pretty(&summary)? + "\n").as_bytes(),
                    )?,
                    "csv" => write_out(output.as_ref(), &summary.to_csv()?)?,
                    "xlsx" => write_out(output.as_ref(), &summary.to_xlsx()?)?,
                    "table" => {
                        println!(
                            "{} ({} to {}, detection dates)",
                            period.name, period.from, period.until
                        );
                        for (dimension, key, count, area) in summary.rows() {
                            println!("{dimension}\t{key}\t{count}\t{area:.1} m²");
                        }
                    }
                    other => anyhow::bail!("--format must be json, csv or xlsx, not {other:?}"),
                }
            }
            LedgerAction::Rules { action } => {
                let acting = Acting::operator(operator);
                let change = match action {
                    RulesAction::List { json } => {
                        let rules = onemap_ledger::rules::list(&client).await?;
                        if json {
                            println!("{}", serde_json::to_string_pretty(&rules)?);
                        } else {
                            print_rules(&rules);
                        }
                        None
                    }
                    RulesAction::Set {
                        id,
                        activity,
                        in_reserve_only,
                        lead,
                        responsible,
                        note,
                    } => {
                        let rule = onemap_ledger::rules::Rule {
                            id,
                            activity,
                            in_reserve_only,
                            lead,
                            responsible,
                            note,
                        };
                        Some(onemap_ledger::rules::set(&mut client, &acting, &rule).await?)
                    }
                    RulesAction::Delete { id } => {
                        Some(onemap_ledger::rules::delete(&mut client, &acting, id).await?)
                    }
                };
                if let Some(change) = change {
                    print_rules(&change.rules);
                    println!(
                        "{} pending clue(s) re-assigned (audit #{})",
                        change.reassigned_pending, change.audit_seq
                    );
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
