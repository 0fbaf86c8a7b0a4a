//! What enforcement planning can fail with: the caller's mistakes (a malformed rule, a rule edit
//! by someone who may not), the trend layer's errors, and the database's.

use onemap_access::AccessError;
use onemap_trends::TrendsError;

/// An enforcement query or rule edit failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnforcementError {
    /// A request that makes no sense (a malformed rule, an unknown grouping…).
    #[error("{0}")]
    Invalid(String),
    /// The actor may not change the rules.
    #[error("{0}")]
    Forbidden(String),
    /// The rule named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The land-use question itself failed (not land use, no such year…).
    #[error(transparent)]
    Trends(#[from] TrendsError),
    /// Appending to the audit trail failed.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The database failed; `context` says at which step.
    #[error("{context}: {source}")]
    Postgres {
        context: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
}

impl EnforcementError {
    pub(crate) fn pg(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Self {
        move |source| Self::Postgres { context, source }
    }
}

/// Result with [`EnforcementError`].
pub type EnforcementResult<T> = Result<T, EnforcementError>;
