//! Finding the database: `DATABASE_URL` when set, otherwise the private cluster.

use std::path::{Path, PathBuf};

use tokio_postgres::{Client, NoTls};

use crate::cluster::PrivateCluster;
use crate::{SchemaError, SchemaResult};

/// Where Onemap keeps its private cluster when the user names no folder.
pub fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ONEMAP_DATA_DIR") {
        return dir.into();
    }
    // Root's home is closed to the postgres user that runs root's cluster.
    if crate::cluster::is_root() || std::env::var_os("HOME").is_none() {
        return "/var/lib/onemap".into();
    }
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/share")))
        .unwrap_or_else(|| "/var/lib".into())
        .join("onemap")
}

/// The database Onemap talks to, and the private cluster behind it if there is one.
#[derive(Debug)]
pub struct Database {
    url: String,
    cluster: Option<PrivateCluster>,
}

impl Database {
    /// Uses `database_url` if given, else starts (or joins) the private cluster in `data_dir`.
    pub async fn open(database_url: Option<String>, data_dir: &Path) -> SchemaResult<Self> {
        if let Some(url) = database_url.filter(|u| !u.is_empty()) {
            return Ok(Self { url, cluster: None });
        }
        let dir = data_dir.to_owned();
        let cluster = tokio::task::spawn_blocking(move || PrivateCluster::ensure_running(&dir))
            .await
            .map_err(|e| SchemaError::Config(format!("cluster start-up panicked: {e}")))??;
        create_database_if_missing(&cluster).await?;
        Ok(Self {
            url: cluster.connection_string(),
            cluster: Some(cluster),
        })
    }

    /// The connection string (contains the password: never log it).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The private cluster, when Onemap runs one.
    pub fn cluster(&self) -> Option<&PrivateCluster> {
        self.cluster.as_ref()
    }

    /// A new connection.
    pub async fn connect(&self) -> SchemaResult<Client> {
        connect(&self.url).await
    }

    /// Stops the private cluster if this process started it.
    pub fn close(self) -> SchemaResult<()> {
        match self.cluster {
            Some(c) => c.stop_if_started_here(),
            None => Ok(()),
        }
    }
}

/// Opens a connection and drives it on the runtime.
pub async fn connect(url: &str) -> SchemaResult<Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(SchemaError::pg("connecting to the database"))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("database connection closed: {e}");
        }
    });
    Ok(client)
}

async fn create_database_if_missing(cluster: &PrivateCluster) -> SchemaResult<()> {
    let admin = connect(&cluster.connection_string_for("postgres")).await?;
    let exists = admin
        .query_opt(
            "SELECT 1 FROM pg_database WHERE datname = $1",
            &[&crate::cluster::DATABASE],
        )
        .await
        .map_err(SchemaError::pg("looking for the onemap database"))?
        .is_some();
    if !exists {
        // CREATE DATABASE takes no parameters; the name is a constant of ours.
        admin
            .batch_execute(&format!("CREATE DATABASE {}", crate::cluster::DATABASE))
            .await
            .map_err(SchemaError::pg("creating the onemap database"))?;
    }
    Ok(())
}
