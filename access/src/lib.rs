//! Onemap's access control, on top of the single authorization point
//! (`onemap_schemas::authz`): users in departments with a role and argon2 password hashes
//! ([`users`]), bearer tokens stored as digests and resolved into a [`Principal`] ([`tokens`]),
//! the viewer's cookie sessions with their CSRF tokens ([`sessions`]),
//! layer access levels and share lists ([`layers`]), publication guarded by
//! `authz::can_publish` ([`publish`]), and the hash-chained, append-only audit trail
//! ([`audit`]).
//!
//! Every change goes through a function here that takes an [`Acting`] (who, from where),
//! checks it with `authz`, and appends its audit entry in the same transaction as the change,
//! so a change without its entry cannot be committed.
//!
//! It is a crate of its own (not part of `onemap-schemas`) so that argon2 and the ingest
//! dependency stay out of the crates that only read the catalog.

pub mod audit;
mod error;
pub mod layers;
pub mod publish;
pub mod sessions;
pub mod tokens;
pub mod users;

pub use error::{AccessError, AccessResult};
pub use onemap_schemas::authz::{Principal, Role, User};

/// Who does something, and from where: the principal and the client address (an HTTP
/// client's socket address, or `local` for the CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acting {
    pub who: Principal,
    pub from: Option<String>,
}

impl Acting {
    /// The local operator running the `onemap` program (trusted: it holds the database
    /// credentials).
    pub fn operator(name: impl Into<String>) -> Self {
        Self {
            who: Principal::Operator(name.into()),
            from: Some("local".to_owned()),
        }
    }

    /// `who` acting from `from`.
    pub fn new(who: Principal, from: Option<String>) -> Self {
        Self { who, from }
    }
}
