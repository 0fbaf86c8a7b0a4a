//! Cookie sessions of the viewer: a random session id (256 bits, 43 base64url characters) and
//! a CSRF token of the same strength, of which only the SHA-256 digests are stored. A session
//! is valid until it is ended (logout, or replaced by the next login from the same browser),
//! its user is disabled, it has been idle longer than [`SessionLimits::idle`] or it is older
//! than [`SessionLimits::absolute`].

use std::time::Duration;

use onemap_schemas::authz::{Principal, Role, User};
use serde_json::json;
use tokio_postgres::{Client, GenericClient};

use crate::tokens::{digest, random_token, PREFIX};
use crate::{audit, AccessError, AccessResult, Acting};

/// How long a session lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Ended after this long without a request.
    pub idle: Duration,
    /// Ended this long after the login, however active.
    pub absolute: Duration,
}

impl Default for SessionLimits {
    /// 12 hours idle, 7 days in all.
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(12 * 3600),
            absolute: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// A session just created: the id (for the `onemap_session` cookie) and the CSRF token (for
/// the `onemap_csrf` cookie and the `X-CSRF-Token` header). Never stored as such.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub row_id: i64,
    pub id: String,
    pub csrf: String,
}

/// What a presented session id turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionState {
    /// A valid session of this user; `csrf_sha256` is the digest of its CSRF token.
    Valid { who: Principal, csrf_sha256: String },
    /// A session that existed but has ended, expired, or whose user is disabled.
    Expired,
    /// Malformed, or never issued by this server (forged).
    Unknown,
}

/// A fresh random secret: 43 base64url characters (256 bits).
fn random_secret() -> String {
    random_token()[PREFIX.len()..].to_owned()
}

/// Whether `secret` looks like one of ours; anything else never reaches the database.
pub fn well_formed(secret: &str) -> bool {
    secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether the CSRF token a request echoed matches the session's.
pub fn csrf_matches(echoed: &str, csrf_sha256: &str) -> bool {
    well_formed(echoed) && digest(echoed) == csrf_sha256
}

/// Opens a new session for the (already authenticated) user of `acting`. A session id the
/// client presented before (`previous`) is ended in the same transaction: every login gets a
/// fresh id, and the old one stops working. Audited as `session.create`.
pub async fn create(
    client: &mut Client,
    acting: &Acting,
    previous: Option<&str>,
) -> AccessResult<NewSession> {
    let user = acting
        .who
        .user()
        .ok_or_else(|| AccessError::Forbidden("only users have sessions".to_owned()))?
        .clone();
    let (id, csrf) = (random_secret(), random_secret());
    let tx = client
        .transaction()
        .await
        .map_err(AccessError::pg("starting the transaction"))?;
    let mut replaced = None;
    if let Some(previous) = previous.filter(|p| well_formed(p)) {
        replaced = tx
            .query_opt(include_str!("sql/session_end.sql"), &[&digest(previous)])
            .await
            .map_err(AccessError::pg("ending the previous session"))?
            .map(|r| r.get::<_, i64>("id"));
    }
    let row_id: i64 = tx
        .query_opt(
            include_str!("sql/session_insert.sql"),
            &[&user.name, &digest(&id), &digest(&csrf), &acting.from],
        )
        .await
        .map_err(AccessError::pg("creating the session"))?
        .ok_or_else(|| AccessError::NotFound(format!("no enabled user {:?}", user.name)))?
        .get(0);
    audit::append(
        &tx,
        acting,
        "session.create",
        Some(&user.name),
        &json!({ "session_id": row_id, "replaced": replaced }),
    )
    .await?;
    tx.commit()
        .await
        .map_err(AccessError::pg("committing the session"))?;
    Ok(NewSession { row_id, id, csrf })
}

/// What the session id `session` stands for; refreshes its last-seen time (at most once a
/// minute) when valid.
pub async fn resolve(
    client: &impl GenericClient,
    session: &str,
    limits: SessionLimits,
) -> AccessResult<SessionState> {
    if !well_formed(session) {
        return Ok(SessionState::Unknown);
    }
    let Some(row) = client
        .query_opt(
            include_str!("sql/session_resolve.sql"),
            &[
                &digest(session),
                &limits.idle.as_secs_f64(),
                &limits.absolute.as_secs_f64(),
            ],
        )
        .await
        .map_err(AccessError::pg("resolving the session"))?
    else {
        return Ok(SessionState::Unknown);
    };
    let role: String = row.get("role");
    let (true, Some(role)) = (row.get::<_, bool>("valid"), Role::parse(&role)) else {
        return Ok(SessionState::Expired);
    };
    if row.get::<_, bool>("stale") {
        client
            .execute(
                include_str!("sql/session_touch.sql"),
                &[&row.get::<_, i64>("session_id")],
            )
            .await
            .map_err(AccessError::pg("refreshing the session"))?;
    }
    Ok(SessionState::Valid {
        who: Principal::User(User {
            id: row.get("id"),
            name: row.get("name"),
            department: row.get("department"),
            role,
        }),
        csrf_sha256: row.get("csrf_sha256"),
    })
}

/// Ends the session `session` (logout). Returns its row id, or `None` when it was not open.
/// Audited as `session.end`.
pub async fn end(client: &mut Client, acting: &Acting, session: &str) -> AccessResult<Option<i64>> {
    if !well_formed(session) {
        return Ok(None);
    }
    let tx = client
        .transaction()
        .await
        .map_err(AccessError::pg("starting the transaction"))?;
    let Some(row) = tx
        .query_opt(include_str!("sql/session_end.sql"), &[&digest(session)])
        .await
        .map_err(AccessError::pg("ending the session"))?
    else {
        return Ok(None);
    };
    let (id, owner): (i64, String) = (row.get("id"), row.get("user_name"));
    audit::append(
        &tx,
        acting,
        "session.end",
        Some(&owner),
        &json!({ "session_id": id }),
    )
    .await?;
    tx.commit()
        .await
        .map_err(AccessError::pg("committing the logout"))?;
    Ok(Some(id))
}
