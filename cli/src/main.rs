//! `onemap`: one program that drives the platform — the server, ingest, migrations, the demo
//! county and the catalog. Every subcommand uses `DATABASE_URL` when set, and otherwise the
//! private PostgreSQL cluster under `--data-dir`.

mod commands;
mod demo;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of glibc malloc (BENCHMARKS.md, "Tiles", "Soak"): under a tile soak glibc
/// kept the memory of freed tile buffers pinned between long-lived cache entries, and the
/// server's resident size grew to ten times the cache bound; mimalloc returns it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Onemap: one shared map of Shandan County's departments' layers.
#[derive(Parser)]
#[command(name = "onemap", version, about, long_about = None)]
struct Cli {
    /// PostgreSQL + PostGIS to use; without it Onemap runs its own private cluster.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    /// Folder of the private cluster (default /var/lib/onemap for root, else ~/.local/share/onemap).
    #[arg(long, env = "ONEMAP_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, the tiles and the viewer.
    Serve(commands::serve::ServeArgs),
    /// Load a file (GeoJSON, GeoPackage) as a new version of a layer.
    Ingest(commands::ingest::IngestArgs),
    /// Run ingest jobs from the queue (uploads through the API) until stopped.
    Worker(commands::worker::WorkerArgs),
    /// Bring the database schema and reference data up to date.
    Migrate,
    /// Build a synthetic Shandan County, load it through ingest, and serve it.
    Demo(commands::demo::DemoArgs),
    /// List the layers and their versions.
    Layers(commands::layers::LayersArgs),
    /// Manage the private PostgreSQL cluster.
    Db(commands::db::DbArgs),
    /// Manage users (each in a department, with a role).
    User(commands::user::UserArgs),
    /// Create, revoke and list bearer tokens.
    Token(commands::token::TokenArgs),
    /// Verify or read the audit trail.
    Audit(commands::audit::AuditArgs),
    /// The viewer's cookie sessions: delete the expired ones.
    Sessions(commands::sessions::SessionsArgs),
    /// Change-trend analytics: precompute, area series, transition matrices.
    Trends(commands::trends::TrendsArgs),
    /// The annual land-use change survey: load new or changed years (`survey sync`).
    Survey(commands::survey::SurveyArgs),
    /// The pieces of land whose class changed between two survey years (GeoJSON or CSV).
    Changes(commands::trends::ChangesArgs),
    /// The enforcement rules: list, set, delete or reset (each change audited).
    Rules(commands::enforcement::RulesArgs),
    /// Flagged change area: hotspots and task lists per station or department.
    Enforcement(commands::enforcement::EnforcementArgs),
    /// The rectification ledger of remote-sensing clues: import, overdue, export, summary, rules.
    Ledger(commands::ledger::LedgerArgs),
    /// Write an offline package (PMTiles or MBTiles) of some layers for use without a network.
    ExportTiles(commands::export_tiles::ExportTilesArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ONEMAP_LOG")
                .unwrap_or_else(|_| "warn,onemap=info,onemap_ingest=warn,martin_core=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let ctx = commands::Context {
        database_url: cli.database_url,
        data_dir: cli
            .data_dir
            .unwrap_or_else(onemap_schemas::database::default_data_dir),
    };
    match cli.command {
        Command::Serve(args) => commands::serve::run(&ctx, args).await,
        Command::Ingest(args) => commands::ingest::run(&ctx, args).await,
        Command::Worker(args) => commands::worker::run(&ctx, args).await,
        Command::Migrate => commands::migrate::run(&ctx).await,
        Command::Demo(args) => commands::demo::run(&ctx, args).await,
        Command::Layers(args) => commands::layers::run(&ctx, args).await,
        Command::Db(args) => commands::db::run(&ctx, args).await,
        Command::User(args) => commands::user::run(&ctx, args).await,
        Command::Token(args) => commands::token::run(&ctx, args).await,
        Command::Audit(args) => commands::audit::run(&ctx, args).await,
        Command::Sessions(args) => commands::sessions::run(&ctx, args).await,
        Command::Trends(args) => commands::trends::run(&ctx, args).await,
        Command::Survey(args) => commands::survey::run(&ctx, args).await,
        Command::Changes(args) => commands::trends::run_changes(&ctx, args).await,
        Command::Rules(args) => commands::enforcement::run_rules(&ctx, args).await,
        Command::Enforcement(args) => commands::enforcement::run(&ctx, args).await,
        Command::Ledger(args) => commands::ledger::run(&ctx, args).await,
        Command::ExportTiles(args) => commands::export_tiles::run(&ctx, args).await,
    }
}

/// The error and its causes on one line, leaving out causes a message already quotes.
fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let message = cause.to_string();
        if !text.contains(&message) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&message);
        }
    }
    text
}
