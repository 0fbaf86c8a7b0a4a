//! `onemap db start|stop|status|url`: the private cluster by hand (scripts and tests use it).

use anyhow::bail;
use clap::{Args, Subcommand};
use onemap_schemas::cluster::PrivateCluster;
use onemap_schemas::database::Database;

#[derive(Args)]
pub struct DbArgs {
    #[command(subcommand)]
    action: DbAction,
}

#[derive(Subcommand)]
enum DbAction {
    /// Create (if needed), start and migrate the private cluster, and leave it running.
    Start,
    /// Stop the private cluster.
    Stop,
    /// Say whether the private cluster runs.
    Status,
    /// Print the connection string of the private cluster's onemap database (it holds the password).
    Url {
        /// Print the connection string of this database instead (e.g. postgres, for admin work).
        #[arg(long, default_value = onemap_schemas::cluster::DATABASE)]
        database: String,
    },
}

pub async fn run(ctx: &super::Context, args: DbArgs) -> anyhow::Result<()> {
    if ctx.database_url.is_some() && !matches!(args.action, DbAction::Status) {
        bail!("DATABASE_URL is set: the private cluster is not in use");
    }
    match args.action {
        DbAction::Start => {
            let db = ctx.open_migrated().await?;
            let port = db.cluster().map(PrivateCluster::port).unwrap_or_default();
            // Leave it running: do not call close().
            std::mem::forget(db);
            println!(
                "private cluster running on 127.0.0.1:{port} ({})",
                ctx.data_dir.display()
            );
        }
        DbAction::Stop => {
            let dir = ctx.data_dir.clone();
            tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                if !dir.join("pgdata/PG_VERSION").exists() {
                    println!("no private cluster in {}", dir.display());
                    return Ok(());
                }
                PrivateCluster::ensure_running(&dir)?.stop()?;
                println!("private cluster stopped");
                Ok(())
            })
            .await??;
        }
        DbAction::Status => {
            if ctx.database_url.is_some() {
                println!("using DATABASE_URL");
            } else {
                let db = Database::open(None, &ctx.data_dir).await?;
                let running_before = !db.cluster().is_some_and(PrivateCluster::started_here);
                db.close()?;
                println!(
                    "private cluster in {}: {}",
                    ctx.data_dir.display(),
                    if running_before { "running" } else { "stopped" }
                );
            }
        }
        DbAction::Url { database } => {
            let db = Database::open(None, &ctx.data_dir).await?;
            let cluster = db.cluster().expect("private cluster");
            if cluster.started_here() {
                db.close()?;
                bail!("the private cluster is not running: start it with `onemap db start`");
            }
            println!("{}", cluster.connection_string_for(&database));
        }
    }
    Ok(())
}
