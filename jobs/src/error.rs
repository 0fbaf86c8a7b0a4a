//! The one error type of the job queue.

/// What can go wrong while queueing or running jobs (a job's own failure is recorded in its
/// row, not returned).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    #[error("database error while {context}: {source}")]
    Postgres {
        context: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("database pool: {0}")]
    Pool(String),
    /// The layer or job does not exist (or the caller may not know that it does).
    #[error("{0}")]
    NotFound(String),
    /// The caller may not publish this.
    #[error("{0}")]
    Forbidden(String),
    /// The request is wrong.
    #[error("{0}")]
    Invalid(String),
}

/// Result with [`JobError`].
pub type JobResult<T> = Result<T, JobError>;

impl JobError {
    /// Wraps a database error with what was being done.
    pub fn pg(context: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> Self {
        let context = context.into();
        move |source| Self::Postgres { context, source }
    }
}
