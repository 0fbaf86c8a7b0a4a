//! Cookie sessions of the viewer: a random session id (256 bits, 43 base64url characters) and
//! a CSRF token of the same strength, of which only the SHA-256 digests are stored. A session
//! is valid until it is ended (logout, or replaced by the next login from the same browser),
//! its user is disabled or changes password, it has been idle longer than
//! [`SessionLimits::idle`] or it is older than [`SessionLimits::absolute`].
//!
//! An ended session's row is deleted at once; an expired one by [`prune`] (the server runs it
//! periodically, `onemap sessions prune` by hand). The cookies live no longer than the
//! session: [`SessionLimits::cookie_max_age`] at login, renewed whenever the session is seen
//! again ([`SessionState::Valid::renew`]), so a browser does not present a pruned session.

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

impl SessionLimits {
    /// How long a session's cookies should live from now, `remaining` before its absolute end:
    /// the idle timeout, but never past the absolute lifetime.
    pub fn cookie_max_age(&self, remaining: Duration) -> Duration {
        self.idle.min(remaining).min(self.absolute)
    }
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
    /// A valid session of this user; `csrf_sha256` is the digest of its CSRF token. `renew`:
    /// its last-seen time was just refreshed, and its cookies should be set again to live this
    /// much longer (the idle timeout, capped by the absolute lifetime).
    Valid {
        who: Principal,
        csrf_sha256: String,
        renew: Option<Duration>,
    },
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
    let stale = row.get::<_, bool>("stale");
    if stale {
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
        renew: stale.then(|| {
            let remaining = row.get::<_, f64>("remaining_secs").max(0.0);
            limits.cookie_max_age(Duration::from_secs_f64(remaining))
        }),
    })
}

/// Ends the session `session` (logout): its row is deleted. Returns its row id, or `None` when
/// there was no such session. Audited as `session.end`.
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

/// Deletes the sessions that can no longer be used: expired (idle longer than `limits.idle`
/// or older than `limits.absolute`, each plus `grace`), ended, or of a disabled user. Returns
/// how many. The grace keeps a session whose cookie the browser may still hold for a moment
/// (the cookie is renewed in the answer to the request that refreshed the session) from being
/// deleted under it; such a session is refused as expired meanwhile.
pub async fn prune(
    client: &impl GenericClient,
    limits: SessionLimits,
    grace: Duration,
) -> AccessResult<u64> {
    let count: i64 = client
        .query_one(
            include_str!("sql/session_prune.sql"),
            &[
                &(limits.idle + grace).as_secs_f64(),
                &(limits.absolute + grace).as_secs_f64(),
            ],
        )
        .await
        .map_err(AccessError::pg("pruning the sessions"))?
        .get(0);
    Ok(u64::try_from(count).unwrap_or_default())
}

/// Ends every session of user `name` (inside the caller's transaction: a disabled user, a
/// changed password). Returns how many there were.
pub(crate) async fn end_all_of(client: &impl GenericClient, name: &str) -> AccessResult<i64> {
    Ok(client
        .query_one(include_str!("sql/sessions_of_user_end.sql"), &[&name])
        .await
        .map_err(AccessError::pg("ending the user's sessions"))?
        .get(0))
}
