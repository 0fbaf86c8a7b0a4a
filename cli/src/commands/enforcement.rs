//! `onemap rules` (list, set, delete or reset the enforcement rules: which land-class
//! transitions are degradation, stable or improvement, and in which reserve zones they are
//! prohibited; every change audited as the local operator) and `onemap enforcement
//! hotspots|tasks` (the same answers as `GET /api/enforcement/hotspots` and `/tasks`).

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use onemap_access::Acting;
use onemap_enforcement::hotspots::tasks_csv;
use onemap_enforcement::rules::{self, TransitionRule};
use onemap_enforcement::{EnforcementQuery, HotspotBy};
use onemap_schemas::authz::Principal;
use onemap_schemas::catalog::Catalog;

#[derive(Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    action: RulesAction,
}

#[derive(Subcommand)]
enum RulesAction {
    /// Print the rules in force (JSON with --json, else one per line).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add or change the rule for FROM → TO (patterns: *, 03, 0602, 05*).
    Set {
        from: String,
        to: String,
        /// degradation, stable or improvement.
        #[arg(long)]
        trend: String,
        /// Zone kinds where it is prohibited: core, buffer, experimental, outside.
        #[arg(long, value_delimiter = ',')]
        prohibited_in: Vec<String>,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Delete the rule for FROM → TO.
    Delete { from: String, to: String },
    /// Restore the platform's default rules.
    Reset,
}

#[derive(Args)]
pub struct EnforcementArgs {
    #[command(subcommand)]
    action: EnforcementAction,
}

#[derive(Subcommand)]
enum EnforcementAction {
    /// Flagged change area ranked by zone, station, village or grid cell (JSON).
    Hotspots {
        #[command(flatten)]
        q: QueryArgs,
        #[arg(long, value_enum, default_value_t = By::Zone)]
        by: By,
        /// Grid cell size in EPSG:4543 metres.
        #[arg(long, default_value_t = 5000.0)]
        cell_m: f64,
    },
    /// The field tasks per responsible station or department.
    Tasks {
        #[command(flatten)]
        q: QueryArgs,
        /// Only this station's or department's tasks.
        #[arg(long)]
        responsible: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
    },
}

#[derive(Args)]
struct QueryArgs {
    /// The land-use layer id.
    #[arg(long)]
    layer: String,
    #[arg(long, default_value = "reserve_zones")]
    zone_layer: String,
    #[arg(long, default_value = "station_jurisdictions")]
    station_layer: String,
    #[arg(long, default_value = "villages")]
    village_layer: String,
    #[arg(long)]
    from: Option<i32>,
    #[arg(long)]
    to: Option<i32>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum By {
    Zone,
    Station,
    Village,
    Grid,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Json,
    Csv,
}

/// The CLI is the trusted local operator (see `authz::Principal::Operator`).
fn operator() -> Principal {
    Principal::Operator(super::ingest::who_am_i())
}

pub async fn run_rules(ctx: &super::Context, args: RulesArgs) -> anyhow::Result<()> {
    super::with_database(ctx, async |db| {
        let mut client = db.connect().await?;
        let acting = Acting::new(operator(), Some("local".to_owned()));
        match args.action {
            RulesAction::List { json } => {
                let list = rules::list(&client).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&list)?);
                } else {
                    for r in list {
                        println!(
                            "{:>6} → {:<6} {:<11} prohibited in: {:<28} {}",
                            r.from_class,
                            r.to_class,
                            r.trend,
                            r.prohibited_in.join(","),
                            r.note
                        );
                    }
                }
            }
            RulesAction::Set {
                from,
                to,
                trend,
                prohibited_in,
                note,
            } => {
                let rule = TransitionRule {
                    from_class: from,
                    to_class: to,
                    trend,
                    prohibited_in,
                    note,
                };
                let seq = rules::set(&mut client, &acting, rule).await?;
                println!("rule set (audit entry {seq})");
            }
            RulesAction::Delete { from, to } => {
                let seq = rules::delete(&mut client, &acting, &from, &to).await?;
                println!("rule deleted (audit entry {seq})");
            }
            RulesAction::Reset => {
                let seq = rules::reset(&mut client, &acting).await?;
                println!("default rules restored (audit entry {seq})");
            }
        }
        Ok(())
    })
    .await
}

pub async fn run(ctx: &super::Context, args: EnforcementArgs) -> anyhow::Result<()> {
    super::with_database(ctx, async |db| {
        let mut client = db.connect().await?;
        let catalog = Catalog::load(&client).await?;
        let who = operator();
        let layer = |id: &str| {
            catalog
                .layer(&who, id)
                .with_context(|| format!("no layer {id:?}"))
        };
        let q = match &args.action {
            EnforcementAction::Hotspots { q, .. } | EnforcementAction::Tasks { q, .. } => q,
        };
        let query = EnforcementQuery {
            layer: layer(&q.layer)?,
            zone_layer: Some(layer(&q.zone_layer)?),
            station_layer: catalog.layer(&who, &q.station_layer),
            village_layer: catalog.layer(&who, &q.village_layer),
            from: q.from,
            to: q.to,
        };
        let flagged = onemap_enforcement::flagged(&mut client, &query).await?;
        match args.action {
            EnforcementAction::Hotspots { by, cell_m, .. } => {
                let by = match by {
                    By::Zone => HotspotBy::Zone,
                    By::Station => HotspotBy::Station,
                    By::Village => HotspotBy::Village,
                    By::Grid => HotspotBy::Grid,
                };
                let h = onemap_enforcement::hotspots(&flagged, by, cell_m);
                println!("{}", serde_json::to_string_pretty(&h)?);
            }
            EnforcementAction::Tasks {
                responsible,
                format,
                ..
            } => {
                let tasks = onemap_enforcement::tasks(&flagged, responsible.as_deref());
                match format {
                    Format::Csv => print!("{}", tasks_csv(&tasks)),
                    Format::Json => println!(
                        "{}",
                        serde_json::to_string_pretty(&serde_json::json!({
                            "from": flagged.from, "to": flagged.to,
                            "zone_layer": flagged.zone_layer, "tasks": tasks,
                        }))?
                    ),
                }
            }
        }
        Ok(())
    })
    .await
}
