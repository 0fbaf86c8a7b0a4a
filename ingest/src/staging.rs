//! Parallel loading's staging table (see [`crate::ParallelCopy`]).
//!
//! The version's partition-to-be is created and committed on a connection of its own (the
//! control connection), so that several COPY streams can load it at once; it is marked as a
//! staging table, readers have no grant on it, and it is not attached, so nobody sees its rows.
//! Its two indexes are built at the same time on two of the streams; the publishing transaction
//! then repairs, attaches and records it as before (`publish.rs`), or, on any failure, the
//! control connection drops it.
//!
//! For its whole life every connection of the loader (the control connection and each stream)
//! holds a share of an advisory lock on the version id. A loader that dies (killed process,
//! lost connections, database restart) releases it with its connections and leaves its staging
//! table behind: [`sweep`], run before every publication, drops every staging table whose lock
//! it can take exclusively, so never one that any connection of its loader still holds.

use std::path::Path;

use postgres_protocol::escape::escape_identifier;
use tokio_postgres::{Client, NoTls, Row};

use crate::{IngestError, ParallelCopy};

/// The application name of the COPY streams (what `pg_stat_activity` shows).
pub const STREAM_APPLICATION: &str = "onemap ingest stream";
/// The application name of the control connection.
const CONTROL_APPLICATION: &str = "onemap ingest staging";

/// A committed, unattached, hidden table being loaded, and the connections loading it.
pub(crate) struct Staging {
    control: Client,
    streams: Vec<Client>,
    table: String,
    version_id: i64,
}

impl Staging {
    /// Takes the lock on `version_id`, creates `table` (its DDL from `fill`) and opens the
    /// COPY streams.
    pub(crate) async fn create(
        parallel: &ParallelCopy,
        file: &Path,
        table: &str,
        version_id: i64,
        fill: &impl Fn(&str) -> String,
    ) -> Result<Self, IngestError> {
        let pg = |context: &str| IngestError::pg(file, context.to_owned());
        let control = connect(&parallel.url, CONTROL_APPLICATION, file).await?;
        control
            .execute(include_str!("sql/staging_lock.sql"), &[&version_id])
            .await
            .map_err(pg("locking the staging table"))?;
        let mut staging = Self {
            control,
            streams: Vec::new(),
            table: table.to_owned(),
            version_id,
        };
        let ddl = format!(
            "{};\n{}",
            fill(include_str!("sql/create_partition.sql")),
            fill(include_str!("sql/staging_hide.sql"))
        );
        // One simple query: the table appears already hidden and marked, or not at all.
        staging
            .control
            .batch_execute(&ddl)
            .await
            .map_err(pg("creating the staging table"))?;
        let streams = parallel.streams.max(2);
        // Each stream holds a share of the lock too: a loader whose control connection alone
        // was lost is still loading, and its table must not be swept from under its streams.
        match futures::future::try_join_all((0..streams).map(|_| async {
            let stream = connect(&parallel.url, STREAM_APPLICATION, file).await?;
            stream
                .execute(include_str!("sql/staging_lock.sql"), &[&version_id])
                .await
                .map_err(pg("locking the staging table"))?;
            Ok::<_, IngestError>(stream)
        }))
        .await
        {
            Ok(streams) => staging.streams = streams,
            Err(e) => {
                staging.abandon().await;
                return Err(e);
            }
        }
        Ok(staging)
    }

    /// The COPY connections.
    pub(crate) fn streams(&self) -> &[Client] {
        &self.streams
    }

    /// Builds the GiST and the unique index at the same time, on two connections; the second
    /// computes the table's extent (version_extent.sql) once its index is done.
    pub(crate) async fn build_indexes(
        &self,
        file: &Path,
        fill: &impl Fn(&str) -> String,
    ) -> Result<Row, IngestError> {
        let pg = |context: &str| IngestError::pg(file, context.to_owned());
        let gist = fill(include_str!("sql/staging_gist.sql"));
        let unique = fill(include_str!("sql/staging_unique.sql"));
        let extent = fill(include_str!("sql/version_extent.sql"));
        let second = async {
            self.streams[1]
                .batch_execute(&unique)
                .await
                .map_err(pg("indexing the staging table"))?;
            self.streams[1]
                .query_one(&extent, &[])
                .await
                .map_err(pg("computing the version's extent"))
        };
        let (first, second) = tokio::join!(self.streams[0].batch_execute(&gist), second);
        first.map_err(pg("indexing the staging table"))?;
        second
    }

    /// After the publishing transaction committed: the table is a partition now.
    pub(crate) async fn release(self) {
        drop(self.streams);
        let _ = self
            .control
            .execute(
                include_str!("sql/staging_unlock_shared.sql"),
                &[&self.version_id],
            )
            .await;
    }

    /// After a failure: drops the table (the publishing transaction rolled back, so it was never
    /// attached). If even that fails, the table stays marked and the next sweep drops it.
    pub(crate) async fn abandon(self) {
        // Closing the streams ends whatever they were doing and releases their locks.
        drop(self.streams);
        let drop_sql = format!(
            "SET lock_timeout = '30s'; DROP TABLE IF EXISTS {}",
            self.table
        );
        if let Err(e) = self.control.batch_execute(&drop_sql).await {
            tracing::warn!(table = %self.table, error = %e, "could not drop the staging table; the next ingest sweeps it");
        }
        let _ = self
            .control
            .execute(
                include_str!("sql/staging_unlock_shared.sql"),
                &[&self.version_id],
            )
            .await;
    }
}

/// Opens a connection for parallel loading, with the session settings of staging_session.sql.
async fn connect(url: &str, application: &str, file: &Path) -> Result<Client, IngestError> {
    let pg = |context: &str| IngestError::pg(file, context.to_owned());
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(pg("reading the database URL for parallel loading"))?;
    config.application_name(application);
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(pg("connecting for parallel loading"))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "a parallel-loading connection ended");
        }
    });
    client
        .batch_execute(include_str!("sql/staging_session.sql"))
        .await
        .map_err(pg("setting up a parallel-loading connection"))?;
    Ok(client)
}

/// Drops the staging tables that loaders which are gone left behind (those whose lock can be
/// taken); returns how many. Tables still being loaded are left alone.
pub async fn sweep(client: &Client) -> Result<u64, tokio_postgres::Error> {
    let leftovers = client
        .query(include_str!("sql/staging_leftovers.sql"), &[])
        .await?;
    let mut dropped = 0;
    for row in leftovers {
        let name: String = row.get("name");
        let version_id: i64 = row.get("version_id");
        let locked: bool = client
            .query_one(include_str!("sql/staging_try_lock.sql"), &[&version_id])
            .await?
            .get(0);
        if !locked {
            continue;
        }
        let result = async {
            let still: bool = client
                .query_one(include_str!("sql/staging_still_leftover.sql"), &[&name])
                .await?
                .get(0);
            if still {
                client
                    .batch_execute(&format!(
                        "DROP TABLE IF EXISTS onemap.{}",
                        escape_identifier(&name)
                    ))
                    .await?;
            }
            Ok::<bool, tokio_postgres::Error>(still)
        }
        .await;
        client
            .execute(include_str!("sql/staging_unlock.sql"), &[&version_id])
            .await?;
        if result? {
            tracing::info!(table = %name, "dropped a staging table left by an ingest that stopped");
            dropped += 1;
        }
    }
    Ok(dropped)
}
