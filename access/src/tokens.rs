//! Bearer tokens: `om_` and 43 base64url characters (256 random bits). Only their SHA-256 is
//! stored; a token works until it is revoked or its user is disabled.

use onemap_schemas::authz::{can_manage_users, Principal, Role, User};
use rand::RngCore;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio_postgres::{Client, GenericClient};

use crate::{audit, AccessError, AccessResult, Acting};

/// What every token starts with (lets secret scanners recognise leaked ones).
pub const PREFIX: &str = "om_";

/// A token as listed (never the token itself).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TokenInfo {
    pub id: i64,
    pub user: String,
    pub label: String,
    pub created_at: String,
    pub revoked: bool,
}

/// A fresh random token.
pub fn random_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    // base64url without padding, by hand: 32 bytes → 43 characters.
    let mut out = String::with_capacity(PREFIX.len() + 43);
    out.push_str(PREFIX);
    let mut acc = 0_u32;
    let mut bits = 0;
    for b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(ALPHABET[((acc >> bits) & 63) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (6 - bits)) & 63) as usize] as char);
    }
    out
}

/// The stored digest of a token.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a token for `user_name` and returns `(id, token)`. Users may create their own;
/// admins anyone's.
pub async fn create(
    client: &mut Client,
    acting: &Acting,
    user_name: &str,
    label: &str,
) -> AccessResult<(i64, String)> {
    let own = acting.who.user().is_some_and(|u| u.name == user_name);
    if !own && !can_manage_users(&acting.who) {
        return Err(AccessError::Forbidden(format!(
            "{} may not create tokens for {user_name}",
            acting.who.name()
        )));
    }
    let token = random_token();
    let tx = client
        .transaction()
        .await
        .map_err(AccessError::pg("starting the transaction"))?;
    let id: i64 = tx
        .query_opt(
            include_str!("sql/token_insert.sql"),
            &[&user_name, &digest(&token), &label],
        )
        .await
        .map_err(AccessError::pg("creating the token"))?
        .ok_or_else(|| AccessError::NotFound(format!("no enabled user {user_name:?}")))?
        .get(0);
    audit::append(
        &tx,
        acting,
        "token.create",
        Some(user_name),
        &json!({ "token_id": id, "label": label }),
    )
    .await?;
    tx.commit()
        .await
        .map_err(AccessError::pg("committing the token"))?;
    Ok((id, token))
}

/// Revokes a token given by its id or by the token itself. Users may revoke their own;
/// admins anyone's. Returns the token's id.
pub async fn revoke(client: &mut Client, acting: &Acting, id_or_token: &str) -> AccessResult<i64> {
    let tx = client
        .transaction()
        .await
        .map_err(AccessError::pg("starting the transaction"))?;
    let (id, token_digest): (Option<i64>, Option<String>) = if id_or_token.starts_with(PREFIX) {
        (None, Some(digest(id_or_token)))
    } else {
        let id = id_or_token.parse::<i64>().map_err(|_| {
            AccessError::Invalid(format!(
                "{id_or_token:?} is neither a token id nor a token ({PREFIX}…)"
            ))
        })?;
        (Some(id), None)
    };
    let row = tx
        .query_opt(include_str!("sql/token_find.sql"), &[&id, &token_digest])
        .await
        .map_err(AccessError::pg("looking up the token"))?
        .ok_or_else(|| AccessError::NotFound("no such token".to_owned()))?;
    let (id, owner): (i64, String) = (row.get("id"), row.get("user_name"));
    let own = acting.who.user().is_some_and(|u| u.name == owner);
    if !own && !can_manage_users(&acting.who) {
        // Someone else's token does not exist for this caller.
        return Err(AccessError::NotFound("no such token".to_owned()));
    }
    tx.execute(include_str!("sql/token_revoke.sql"), &[&id])
        .await
        .map_err(AccessError::pg("revoking the token"))?;
    audit::append(
        &tx,
        acting,
        "token.revoke",
        Some(&owner),
        &json!({ "token_id": id }),
    )
    .await?;
    tx.commit()
        .await
        .map_err(AccessError::pg("committing the revocation"))?;
    Ok(id)
}

/// The tokens of one user, or of everyone.
pub async fn list(client: &impl GenericClient, user: Option<&str>) -> AccessResult<Vec<TokenInfo>> {
    let rows = client
        .query(include_str!("sql/tokens.sql"), &[&user])
        .await
        .map_err(AccessError::pg("reading the tokens"))?;
    Ok(rows
        .iter()
        .map(|r| TokenInfo {
            id: r.get("id"),
            user: r.get("user_name"),
            label: r.get("label"),
            created_at: r.get("created_at"),
            revoked: r.get("revoked"),
        })
        .collect())
}

/// The principal a bearer token stands for: `None` when the token is unknown, revoked, or
/// its user disabled. A malformed token is never sent to the database.
pub async fn resolve(client: &impl GenericClient, token: &str) -> AccessResult<Option<Principal>> {
    let well_formed = token.len() == PREFIX.len() + 43
        && token.starts_with(PREFIX)
        && token[PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Ok(None);
    }
    let row = client
        .query_opt(include_str!("sql/token_resolve.sql"), &[&digest(token)])
        .await
        .map_err(AccessError::pg("resolving the token"))?;
    Ok(row.and_then(|r| {
        let role: String = r.get("role");
        Some(Principal::User(User {
            id: r.get("id"),
            name: r.get("name"),
            department: r.get("department"),
            role: Role::parse(&role)?,
        }))
    }))
}
