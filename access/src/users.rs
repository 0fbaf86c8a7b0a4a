//! Users: a name, a department, a role, an argon2id password hash, and a disabled flag.
//! Every change is authorized by `authz::can_manage_users` and audited in its transaction.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use onemap_schemas::authz::{can_manage_users, Role, User};
use serde::Serialize;
use serde_json::json;
use tokio_postgres::{Client, GenericClient, Row};

use crate::{audit, AccessError, AccessResult, Acting};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// A user as `onemap user list` shows them (never the hash).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UserInfo {
    #[serde(flatten)]
    pub user: User,
    pub disabled: bool,
    pub has_password: bool,
    pub active_tokens: i64,
    pub created_at: String,
}

fn check_name(name: &str) -> AccessResult<()> {
    let b = name.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(AccessError::Invalid(format!(
            "user name {name:?} must match ^[a-z][a-z0-9_.-]{{0,62}}$"
        )))
    }
}

fn forbid(acting: &Acting) -> AccessResult<()> {
    if can_manage_users(&acting.who) {
        Ok(())
    } else {
        Err(AccessError::Forbidden(format!(
            "{} may not manage users",
            acting.who.name()
        )))
    }
}

/// Hashes a password with argon2id (default parameters: 19 MiB, 2 passes), off the runtime.
pub async fn hash_password(password: &str) -> AccessResult<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccessError::Invalid(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AccessError::Hashing(e.to_string()))
    })
    .await
    .map_err(|e| AccessError::Hashing(e.to_string()))?
}

/// Whether `password` matches the PHC `hash`, off the runtime.
pub async fn password_matches(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_owned(), hash.to_owned());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

fn user_from(r: &Row) -> AccessResult<User> {
    let role: String = r.get("role");
    Ok(User {
        id: r.get("id"),
        name: r.get("name"),
        department: r.get("department"),
        role: Role::parse(&role)
            .ok_or_else(|| AccessError::Invalid(format!("unknown role {role:?} stored")))?,
    })
}

/// Adds a user. `password` may be `None` for a user who will use tokens only.
pub async fn add(
    client: &mut Client,
    acting: &Acting,
    name: &str,
    department: &str,
    role: Role,
    password: Option<&str>,
) -> AccessResult<User> {
    forbid(acting)?;
    check_name(name)?;
    let hash = match password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let tx = client
        .transaction()
        .await
        .map_err(AccessError::pg("starting the transaction"))?;
    let known: bool = tx
        .query_one(include_str!("sql/department_exists.sql"), &[&department])
        .await
        .map_err(AccessError::pg("looking up the department"))?
        .get(0);
    if !known {
        return Err(AccessError::Invalid(format!(
            "unknown department {department:?}"
        )));
    }
    let row = tx
        .query_opt(
            include_str!("sql/user_insert.sql"),
            &[&name, &department, &role.as_str(), &hash],
        )
        .await
        .map_err(AccessError::pg("adding the user"))?
        .ok_or_else(|| AccessError::Invalid(format!("user {name:?} exists already")))?;
    let user = user_from(&row)?;
    audit::append(
        &tx,
        acting,
        "user.add",
        Some(name),
        &json!({ "department": department, "role": role.as_str(), "password": hash.is_some() }),
    )
    .await?;
    tx.commit()
        .await
        .map_err(AccessError::pg("committing the new user"))?;
    Ok(user)
}

/// Every user, by name.
pub async fn list(client: &impl GenericClient) -> AccessResult<Vec<UserInfo>> {
    let rows = client
        .query(include_str!("sql/users.sql"), &[])
        .await
        .map_err(AccessError::pg("reading the users"))?;
    rows.iter()
        .map(|r| {
            Ok(UserInfo {
                user: user_from(r)?,
                disabled: r.get("disabled"),
                has_password: r.get("has_password"),
                active_tokens: r.get("active_tokens"),
                created_at: r.get("created_at"),
            })
        })
        .collect()
}

/// Disables (or re-enables) a user: a disabled user's tokens and password stop working, and
/// their cookie sessions are ended (deleted); tokens are not revoked (they work again when the
/// user is re-enabled).
pub async fn set_disabled(
    client: &mut Client,
    acting: &Acting,
    name: &str,
    disabled: bool,
) -> AccessResult<()> {
    forbid(acting)?;
    let tx = client
        .transaction()
        .await
        .map_err(AccessError::pg("starting the transaction"))?;
    let n = tx
        .execute(
            include_str!("sql/user_set_disabled.sql"),
            &[&name, &disabled],
        )
        .await
        .map_err(AccessError::pg("updating the user"))?;
    if n == 0 {
        return Err(AccessError::NotFound(format!("no user {name:?}")));
    }
    let (action, details) = if disabled {
        // Signed out everywhere; bearer tokens stay (refused while disabled, back on enable).
        let ended = crate::sessions::end_all_of(&tx, name).await?;
        ("user.disable", json!({ "sessions_ended": ended }))
    } else {
        ("user.enable", json!({}))
    };
    audit::append(&tx, acting, action, Some(name), &details).await?;
    tx.commit()
        .await
        .map_err(AccessError::pg("committing the user change"))
}

/// Sets a user's password. Users may change their own; admins anyone's. Ends every cookie
/// session of that user (nothing else: bearer tokens keep working).
pub async fn set_password(
    client: &mut Client,
    acting: &Acting,
    name: &str,
    password: &str,
) -> AccessResult<()> {
    let own = acting.who.user().is_some_and(|u| u.name == name);
    if !own {
        forbid(acting)?;
    }
    let hash = hash_password(password).await?;
    let tx = client
        .transaction()
        .await
        .map_err(AccessError::pg("starting the transaction"))?;
    let n = tx
        .execute(include_str!("sql/user_set_password.sql"), &[&name, &hash])
        .await
        .map_err(AccessError::pg("updating the password"))?;
    if n == 0 {
        return Err(AccessError::NotFound(format!("no user {name:?}")));
    }
    // Whoever knew the old password is signed out of the viewer; bearer tokens are revoked
    // only on purpose (`onemap token revoke`).
    let ended = crate::sessions::end_all_of(&tx, name).await?;
    audit::append(
        &tx,
        acting,
        "user.passwd",
        Some(name),
        &json!({ "sessions_ended": ended }),
    )
    .await?;
    tx.commit()
        .await
        .map_err(AccessError::pg("committing the password"))
}

/// A hash of a random password nobody knows, checked when the user does not exist so that a
/// failed login takes as long whether or not the name exists.
async fn dummy_hash() -> &'static str {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_init(|| async {
            let random = crate::tokens::random_token();
            hash_password(&random).await.unwrap_or_default()
        })
        .await
}

/// Checks a name and password; audits `login.success` or `login.failure` either way.
pub async fn authenticate(
    client: &mut Client,
    from: Option<String>,
    name: &str,
    password: &str,
) -> AccessResult<User> {
    let row = client
        .query_opt(include_str!("sql/user_for_login.sql"), &[&name])
        .await
        .map_err(AccessError::pg("looking up the user"))?;
    let hash: Option<String> = row.as_ref().and_then(|r| r.get("password_hash"));
    let matches = password_matches(
        password,
        match hash.as_deref() {
            Some(h) => h,
            None => dummy_hash().await,
        },
    )
    .await;
    match row.filter(|_| matches && hash.is_some()) {
        Some(r) => {
            let user = user_from(&r)?;
            let acting = Acting::new(crate::Principal::User(user.clone()), from);
            audit::record(client, &acting, "login.success", Some(name), &json!({})).await?;
            Ok(user)
        }
        None => {
            let acting = Acting::new(crate::Principal::Anonymous, from);
            // The attempted name is kept (truncated) as the target: it is what an auditor
            // looks for. The password never is.
            let attempted: String = name.chars().take(64).collect();
            audit::record(
                client,
                &acting,
                "login.failure",
                Some(&attempted),
                &json!({ "method": "password" }),
            )
            .await?;
            Err(AccessError::BadCredentials)
        }
    }
}
