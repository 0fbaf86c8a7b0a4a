//! `onemap trends`: precompute the change-trend summary tables of a land-use layer, and ask
//! them the same questions as `GET /api/trends/area` and `/api/trends/transitions` (JSON or
//! CSV on stdout). `onemap changes` lists the change parcels like `GET /api/changes`.

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use onemap_schemas::authz::Principal;
use onemap_schemas::catalog::Catalog;
use onemap_trends::{Level, TrendQuery};

#[derive(Args)]
pub struct TrendsArgs {
    #[command(subcommand)]
    action: TrendsAction,
}

#[derive(Subcommand)]
enum TrendsAction {
    /// Overlay a land-use layer's survey years with every zoning layer and with the previous
    /// year, once, into the summary tables; prints how long each year took.
    Precompute {
        /// The land-use layer id (e.g. dltb).
        layer: String,
        /// Only this survey year (default: every year).
        #[arg(long)]
        year: Option<i32>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Area of each land class per survey year inside a zone.
    Area(QueryArgs),
    /// The from-class × to-class transition matrix between two survey years inside a zone.
    Transitions(QueryArgs),
}

#[derive(Args)]
struct QueryArgs {
    /// The land-use layer id.
    #[arg(long)]
    layer: String,
    /// The zoning layer (default: none, the whole extent).
    #[arg(long)]
    zone_layer: Option<String>,
    /// A zone of the zoning layer: a feature's fid or its name (default: all of them).
    #[arg(long)]
    zone: Option<String>,
    #[arg(long)]
    from: Option<i32>,
    #[arg(long)]
    to: Option<i32>,
    /// 1: first-level classes; 2: the codes as surveyed.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=2))]
    level: u8,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

/// `onemap changes`: the pieces of land whose class changed between two survey years.
#[derive(Args)]
pub struct ChangesArgs {
    /// The land-use layer id.
    #[arg(long)]
    layer: String,
    /// The zoning layer (default: none, the whole extent).
    #[arg(long)]
    zone_layer: Option<String>,
    /// A zone of the zoning layer: a feature's fid or its name (default: all of them).
    #[arg(long)]
    zone: Option<String>,
    /// First survey year (default: the year before `--to`).
    #[arg(long)]
    from: Option<i32>,
    /// Second survey year (default: the newest).
    #[arg(long)]
    to: Option<i32>,
    /// 1: only changes of first-level class; 2: any change of code.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=2))]
    level: u8,
    /// geojson (a FeatureCollection in EPSG:4326) or csv (geometry as WKT).
    #[arg(long, value_enum, default_value_t = ChangesFormat::Geojson)]
    format: ChangesFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ChangesFormat {
    Geojson,
    Csv,
}

pub async fn run_changes(ctx: &super::Context, args: ChangesArgs) -> anyhow::Result<()> {
    super::with_database(ctx, async |db| {
        let mut client = db.connect().await?;
        let catalog = Catalog::load(&client).await?;
        let who = operator();
        let q = QueryArgs {
            layer: args.layer.clone(),
            zone_layer: args.zone_layer.clone(),
            zone: args.zone.clone(),
            from: args.from,
            to: args.to,
            level: args.level,
            format: Format::Json,
        };
        let query = trend_query(&catalog, &who, &q)?;
        let changes = onemap_trends::changes(&mut client, &query).await?;
        if args.format == ChangesFormat::Csv {
            println!("from_year,to_year,from_class,to_class,area_m2,from_fid,to_fid,wkt");
            for p in &changes.parcels {
                println!(
                    "{},{},{},{},{},{},{},\"{}\"",
                    changes.from,
                    changes.to,
                    p.from_class,
                    p.to_class,
                    p.area_m2,
                    p.from_fid,
                    p.to_fid,
                    p.wkt
                );
            }
            return Ok(());
        }
        let features: Vec<serde_json::Value> = changes
            .parcels
            .iter()
            .map(|p| {
                serde_json::json!({
                    "type": "Feature",
                    "properties": {
                        "from_year": changes.from, "to_year": changes.to,
                        "from_class": p.from_class, "to_class": p.to_class,
                        "area_m2": p.area_m2, "from_fid": p.from_fid, "to_fid": p.to_fid,
                    },
                    "geometry": p.geometry,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "type": "FeatureCollection", "from": changes.from, "to": changes.to,
                "features": features,
            })
        );
        Ok(())
    })
    .await
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Json,
    Csv,
}

pub async fn run(ctx: &super::Context, args: TrendsArgs) -> anyhow::Result<()> {
    super::with_database(ctx, async |db| {
        let mut client = db.connect().await?;
        match args.action {
            TrendsAction::Precompute { layer, year, json } => {
                let report = onemap_trends::precompute(&mut client, &layer, year)
                    .await
                    .with_context(|| format!("precomputing the trends of {layer}"))?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                } else {
                    print_precompute(&report);
                }
            }
            TrendsAction::Area(q) => {
                let catalog = Catalog::load(&client).await?;
                let who = operator();
                let query = trend_query(&catalog, &who, &q)?;
                let series = onemap_trends::area_series(&mut client, &query).await?;
                if q.format == Format::Csv {
                    println!("year,class,area_m2");
                    for p in &series.series {
                        println!("{},{},{}", p.year, p.class, p.area_m2);
                    }
                } else {
                    println!("{}", serde_json::to_string_pretty(&series)?);
                }
            }
            TrendsAction::Transitions(q) => {
                let catalog = Catalog::load(&client).await?;
                let who = operator();
                let query = trend_query(&catalog, &who, &q)?;
                let m = onemap_trends::transitions(&mut client, &query).await?;
                if q.format == Format::Csv {
                    println!("from_year,to_year,from_class,to_class,area_m2");
                    for c in &m.cells {
                        println!(
                            "{},{},{},{},{}",
                            m.from, m.to, c.from_class, c.to_class, c.area_m2
                        );
                    }
                } else {
                    println!("{}", serde_json::to_string_pretty(&m)?);
                }
            }
        }
        Ok(())
    })
    .await
}

/// Prints one line per survey year: what was computed and how long it took.
pub fn print_precompute(report: &onemap_trends::PrecomputeReport) {
    for y in &report.years {
        let overlay = match y.from_year {
            Some(f) => format!(
                "overlay with {f}: {} zone sets, {} change parcels in {:.2} s",
                y.transition_zones_computed,
                y.change_parcels,
                y.transitions_ms / 1000.0
            ),
            None => "first year, no overlay".to_owned(),
        };
        println!(
            "trends {} {}: areas for {} zone sets in {:.2} s; {overlay}",
            report.layer,
            y.year,
            y.area_zones_computed,
            y.area_ms / 1000.0
        );
    }
    println!(
        "trends {} precomputed in {:.2} s",
        report.layer,
        report.duration_ms / 1000.0
    );
}

/// The precompute that followed a publication: one line per year, and its time (or error).
pub fn print_published_precompute(layer: &str, p: &onemap_trends::PublishedPrecompute) {
    if let Some(e) = &p.error {
        println!(
            "trends {layer} {}: precompute FAILED after {:.2} s (the version stays published; \
             queries compute what is missing): {e}",
            p.year,
            p.duration_ms / 1000.0
        );
        return;
    }
    print_precompute(&onemap_trends::PrecomputeReport {
        layer: layer.to_owned(),
        years: p.years.clone(),
        duration_ms: p.duration_ms,
    });
}

/// The CLI is the trusted local operator (see `authz::Principal::Operator`).
fn operator() -> Principal {
    Principal::Operator(super::ingest::who_am_i())
}

fn trend_query<'a>(
    catalog: &'a Catalog,
    who: &Principal,
    q: &'a QueryArgs,
) -> anyhow::Result<TrendQuery<'a>> {
    let layer = |id: &str| {
        catalog
            .layer(who, id)
            .with_context(|| format!("no layer {id:?}"))
    };
    Ok(TrendQuery {
        layer: layer(&q.layer)?,
        zone_layer: q.zone_layer.as_deref().map(layer).transpose()?,
        zone: q.zone.as_deref(),
        from: q.from,
        to: q.to,
        level: if q.level == 1 { Level::One } else { Level::Two },
    })
}
