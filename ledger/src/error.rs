//! What the ledger can fail with: the caller's mistakes (a malformed file or request, an
//! illegal step, a step by someone who may not), and the database's.

use onemap_access::AccessError;

use crate::workflow::Refusal;

/// A ledger failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// A request that makes no sense (a missing field, an unknown department…).
    #[error("{0}")]
    Invalid(String),
    /// The file cannot be read at all (rows that cannot be read are reported, not failed).
    #[error("{path}: {message}")]
    File { path: String, message: String },
    /// The clue does not exist, or the caller may not see it.
    #[error("{0}")]
    NotFound(String),
    /// The caller sees the clue but may not take this step.
    #[error("{0}")]
    Forbidden(String),
    /// The workflow does not allow this step from the clue's status.
    #[error("{0}")]
    Refused(Refusal),
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

impl LedgerError {
    pub(crate) fn pg(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Self {
        move |source| Self::Postgres { context, source }
    }
}

/// Result with [`LedgerError`].
pub type LedgerResult<T> = Result<T, LedgerError>;
