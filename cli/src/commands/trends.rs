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
    /// An ad-hoc zone instead: a GeoJSON file (Polygon, MultiPolygon, Feature or
    /// FeatureCollection, EPSG:4326 or a `crs` naming EPSG:4490), as `POST` takes it.
    #[arg(long, conflicts_with_all = ["zone_layer", "zone"])]
    zone_file: Option<std::path::PathBuf>,
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
    /// An ad-hoc zone instead: a GeoJSON file, as `POST /api/changes` takes it.
    #[arg(long, conflicts_with_all = ["zone_layer", "zone"])]
    zone_file: Option<std::path::PathBuf>,
    /// First survey year (default: the year before `--to`).
    #[arg(long)]
    from: Option<i32>,
    /// Second survey year (default: the newest).
    #[arg(long)]
    to: Option<i32>,
    /// 1: only changes of first-level class; 2: any change of code.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=2))]
    level: u8,
    /// geojson (a FeatureCollection in EPSG:4326), csv (geometry as WKT) or gpkg (a
    /// GeoPackage in the survey's own CRS; needs `--output`).
    #[arg(long, value_enum, default_value_t = ChangesFormat::Geojson)]
    format: ChangesFormat,
    /// Write to this file instead of standard output (required for gpkg).
    #[arg(long, short = 'o')]
    output: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ChangesFormat {
    Geojson,
    Csv,
    Gpkg,
}

/// The body of `--zone-file`, as `POST` would send it.
fn read_zone_file(path: Option<&std::path::Path>) -> anyhow::Result<Option<Vec<u8>>> {
    path.map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
        .transpose()
}

/// Tells the operator that the zone of `--zone-file` had to be repaired.
fn report_repair(path: Option<&std::path::Path>, zone: &onemap_trends::AdHocZone) {
    if let (Some(path), Some(reason)) = (path, &zone.repaired) {
        eprintln!("{}: invalid polygons repaired ({reason})", path.display());
    }
}

pub async fn run_changes(ctx: &super::Context, args: ChangesArgs) -> anyhow::Result<()> {
    if args.format == ChangesFormat::Gpkg && args.output.is_none() {
        anyhow::bail!("--format gpkg writes a file: name it with --output FILE");
    }
    super::with_database(ctx, async |db| {
        let mut client = db.connect().await?;
        let catalog = Catalog::load(&client).await?;
        let who = operator();
        let q = QueryArgs {
            layer: args.layer.clone(),
            zone_layer: args.zone_layer.clone(),
            zone: args.zone.clone(),
            zone_file: None,
            from: args.from,
            to: args.to,
            level: args.level,
            format: Format::Json,
        };
        let query = trend_query(&catalog, &who, &q)?;
        let adhoc = match read_zone_file(args.zone_file.as_deref())? {
            Some(body) => {
                let zone = onemap_trends::AdHocZone::from_body(&client, &body).await?;
                report_repair(args.zone_file.as_deref(), &zone);
                Some(zone)
            }
            None => None,
        };
        let options = onemap_trends::ChangesOptions {
            adhoc: adhoc.as_ref(),
            places: onemap_trends::Places::visible_to(&catalog, &who),
            wkb: args.format == ChangesFormat::Gpkg,
        };
        let changes = onemap_trends::changes_with(&mut client, &query, &options).await?;
        let text = match args.format {
            ChangesFormat::Gpkg => {
                let path = args.output.as_deref().unwrap_or(std::path::Path::new("-"));
                let srid = onemap_trends::survey_versions(query.layer)?
                    .into_iter()
                    .find(|v| v.year == changes.to)
                    .map_or(4326, |v| v.srid);
                let srs = onemap_trends::gpkg::GpkgSrs::from_postgis(&client, srid).await?;
                let title = format!("{} changes {}-{}", query.layer.id, changes.from, changes.to);
                onemap_trends::gpkg::write_changes(path, &changes, &srs, &title)?;
                eprintln!(
                    "{}: {} change parcels {}→{} (EPSG:{srid})",
                    path.display(),
                    changes.parcels.len(),
                    changes.from,
                    changes.to
                );
                return Ok(());
            }
            ChangesFormat::Csv => changes.to_csv(),
            ChangesFormat::Geojson => format!("{}\n", changes.to_geojson()),
        };
        match &args.output {
            Some(path) => {
                std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
            }
            None => print!("{text}"),
        }
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
                let series = match read_zone_file(q.zone_file.as_deref())? {
                    Some(body) => {
                        let zone = onemap_trends::AdHocZone::from_body(&client, &body).await?;
                        report_repair(q.zone_file.as_deref(), &zone);
                        onemap_trends::area_series_in(&mut client, &query, &zone).await?
                    }
                    None => onemap_trends::area_series(&mut client, &query).await?,
                };
                if q.format == Format::Csv {
                    print!("{}", series.to_csv());
                } else {
                    println!("{}", serde_json::to_string_pretty(&series)?);
                }
            }
            TrendsAction::Transitions(q) => {
                let catalog = Catalog::load(&client).await?;
                let who = operator();
                let query = trend_query(&catalog, &who, &q)?;
                let m = match read_zone_file(q.zone_file.as_deref())? {
                    Some(body) => {
                        let zone = onemap_trends::AdHocZone::from_body(&client, &body).await?;
                        report_repair(q.zone_file.as_deref(), &zone);
                        onemap_trends::transitions_in(&mut client, &query, &zone).await?
                    }
                    None => onemap_trends::transitions(&mut client, &query).await?,
                };
                if q.format == Format::Csv {
                    print!("{}", m.to_csv());
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
