//! The one error type of this crate.

use std::path::PathBuf;

/// What can go wrong while finding, starting, migrating or reading the database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    #[error("database error while {context}: {source}")]
    Postgres {
        context: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("migration failed: {0}")]
    Migration(#[from] refinery::Error),
    #[error("PostgreSQL 15 with PostGIS 3 is not installed ({missing} is missing). Install it with `sudo scripts/setup`, or by hand: `sudo apt-get install -y postgresql-15 postgresql-15-postgis-3`")]
    PostgisMissing { missing: PathBuf },
    #[error("the private PostgreSQL cluster in {data_dir} failed to {action}: {detail}")]
    Cluster {
        data_dir: PathBuf,
        action: &'static str,
        detail: String,
    },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bad reference data in {file}: {detail}")]
    Reference { file: &'static str, detail: String },
    #[error("{0}")]
    Config(String),
}

/// Result with [`SchemaError`].
pub type SchemaResult<T> = Result<T, SchemaError>;

impl SchemaError {
    /// Wraps a database error with what was being done.
    pub fn pg(context: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> Self {
        let context = context.into();
        move |source| Self::Postgres { context, source }
    }

    /// Wraps an I/O error with the path it concerned.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
