//! One module per subcommand.

pub mod audit;
pub mod db;
pub mod demo;
pub mod enforcement;
pub mod export_tiles;
pub mod ingest;
pub mod layers;
pub mod ledger;
pub mod migrate;
pub mod serve;
pub mod sessions;
pub mod survey;
pub mod token;
pub mod trends;
pub mod user;
pub mod worker;

use std::path::PathBuf;

use anyhow::Context as _;
use onemap_schemas::database::Database;

/// What every subcommand needs to find the database.
pub struct Context {
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
}

impl Context {
    /// Opens the database (starting the private cluster if needed) and migrates it.
    pub async fn open_migrated(&self) -> anyhow::Result<Database> {
        let db = Database::open(self.database_url.clone(), &self.data_dir)
            .await
            .context("opening the database")?;
        let mut client = db.connect().await?;
        onemap_schemas::migrate::migrate(&mut client)
            .await
            .context("migrating the database")?;
        Ok(db)
    }
}

/// Runs `work` with a migrated database, then stops the private cluster if this process
/// started it, whatever `work` returned.
pub async fn with_database<T, F>(ctx: &Context, work: F) -> anyhow::Result<T>
where
    F: AsyncFnOnce(&Database) -> anyhow::Result<T>,
{
    let db = ctx.open_migrated().await?;
    let result = work(&db).await;
    let closed = db.close().context("stopping the private cluster");
    let value = result?;
    closed?;
    Ok(value)
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
