//! The one error type of this crate.

/// What can go wrong while managing users, tokens, access or the audit trail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    #[error("database error while {context}: {source}")]
    Postgres {
        context: String,
        #[source]
        source: tokio_postgres::Error,
    },
    /// The thing named does not exist (or the actor may not know that it does).
    #[error("{0}")]
    NotFound(String),
    /// The actor may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The request itself is wrong (bad name, role, level, department…).
    #[error("{0}")]
    Invalid(String),
    /// Name and password do not match an enabled user.
    #[error("wrong user name or password")]
    BadCredentials,
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error(transparent)]
    Ingest(#[from] onemap_ingest::IngestError),
}

/// Result with [`AccessError`].
pub type AccessResult<T> = Result<T, AccessError>;

impl AccessError {
    /// Wraps a database error with what was being done.
    pub fn pg(context: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> Self {
        let context = context.into();
        move |source| Self::Postgres { context, source }
    }
}
