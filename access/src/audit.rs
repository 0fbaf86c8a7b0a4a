//! The audit trail: an append-only, hash-chained log in `onemap.audit`.
//!
//! Each entry's `hash` is the SHA-256 of the previous entry's hash, a newline, and the entry's
//! canonical content: the JSON array `[seq, at, actor, actor_department, actor_role,
//! client_addr, action, target, details]`, with `at` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC)
//! and `details` as PostgreSQL's own text form of the jsonb value (so what is hashed is exactly
//! what is read back). The first entry's `prev_hash` is 64 zeros. Appends take a
//! transaction-scoped advisory lock, so concurrent appends form one line and `seq` has no gaps.
//! The database refuses UPDATE, DELETE and TRUNCATE on the table (trigger and privileges); a
//! superuser who disables the trigger and edits a row is caught by [`verify`].

use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio_postgres::{Client, GenericClient, Row, Transaction};

use crate::{AccessError, AccessResult, Acting, Principal};

/// Advisory-lock key serialising audit appends ("onea" in ASCII).
const AUDIT_LOCK: i64 = 0x6f6e_6561;

/// `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Rows read per round while verifying.
const VERIFY_BATCH: i64 = 10_000;

/// One entry as stored.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditEntry {
    pub seq: i64,
    /// UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    pub at: String,
    pub actor: String,
    pub actor_department: Option<String>,
    pub actor_role: Option<String>,
    pub client_addr: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub details: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VerifyReport {
    /// Entries checked.
    pub entries: i64,
    /// The first broken entry and why, if the chain is broken.
    pub broken: Option<(i64, String)>,
    /// The newest hash (the chain head), if any entry exists.
    pub head: Option<String>,
}

impl VerifyReport {
    /// Whether every entry is intact.
    pub fn ok(&self) -> bool {
        self.broken.is_none()
    }
}

/// The hash of an entry whose canonical fields are given, chained to `prev_hash`.
#[allow(clippy::too_many_arguments)]
fn entry_hash(
    prev_hash: &str,
    seq: i64,
    at: &str,
    actor: &str,
    actor_department: Option<&str>,
    actor_role: Option<&str>,
    client_addr: Option<&str>,
    action: &str,
    target: Option<&str>,
    details_text: &str,
) -> String {
    let canonical = json!([
        seq,
        at,
        actor,
        actor_department,
        actor_role,
        client_addr,
        action,
        target,
        details_text
    ])
    .to_string();
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(canonical.as_bytes());
    hex::encode(h.finalize())
}

/// The department and role recorded for `who`.
fn actor_fields(who: &Principal) -> (Option<&str>, Option<&str>) {
    match who {
        Principal::User(u) => (Some(u.department.as_str()), Some(u.role.as_str())),
        Principal::Operator(_) => (None, Some("operator")),
        Principal::Anonymous => (None, None),
    }
}

/// Appends one entry inside `tx` (committed with the change it records). Returns its `seq`.
pub async fn append(
    tx: &Transaction<'_>,
    acting: &Acting,
    action: &str,
    target: Option<&str>,
    details: &Value,
) -> AccessResult<i64> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])
        .await
        .map_err(AccessError::pg("taking the audit lock"))?;
    let head = tx
        .query_one(include_str!("sql/audit_head.sql"), &[details])
        .await
        .map_err(AccessError::pg("reading the audit chain head"))?;
    let prev_hash: String = head
        .get::<_, Option<String>>("prev_hash")
        .unwrap_or_else(|| GENESIS.to_owned());
    let seq: i64 = head.get("seq");
    let at: String = head.get("at");
    let details_text: String = head.get("details");
    let actor = acting.who.name();
    let (department, role) = actor_fields(&acting.who);
    let client_addr = acting.from.as_deref();
    let hash = entry_hash(
        &prev_hash,
        seq,
        &at,
        actor,
        department,
        role,
        client_addr,
        action,
        target,
        &details_text,
    );
    tx.execute(
        include_str!("sql/audit_insert.sql"),
        &[
            &seq,
            &at,
            &actor,
            &department,
            &role,
            &client_addr,
            &action,
            &target,
            &details_text,
            &prev_hash,
            &hash,
        ],
    )
    .await
    .map_err(AccessError::pg("appending to the audit trail"))?;
    Ok(seq)
}

/// Appends one entry in a transaction of its own (for events that change nothing else, such
/// as a failed login).
pub async fn record(
    client: &mut Client,
    acting: &Acting,
    action: &str,
    target: Option<&str>,
    details: &Value,
) -> AccessResult<i64> {
    let tx = client
        .transaction()
        .await
        .map_err(AccessError::pg("starting the audit transaction"))?;
    let seq = append(&tx, acting, action, target, details).await?;
    tx.commit()
        .await
        .map_err(AccessError::pg("committing the audit entry"))?;
    Ok(seq)
}

fn entry(r: &Row) -> AuditEntry {
    let details: String = r.get("details");
    AuditEntry {
        seq: r.get("seq"),
        at: r.get("at"),
        actor: r.get("actor"),
        actor_department: r.get("actor_department"),
        actor_role: r.get("actor_role"),
        client_addr: r.get("client_addr"),
        action: r.get("action"),
        target: r.get("target"),
        details: serde_json::from_str(&details).unwrap_or(Value::String(details)),
        prev_hash: r.get("prev_hash"),
        hash: r.get("hash"),
    }
}

/// Recomputes the whole chain: every `seq` consecutive from 1, every `prev_hash` equal to the
/// previous entry's hash, every `hash` equal to the hash of the entry's content.
pub async fn verify(client: &impl GenericClient) -> AccessResult<VerifyReport> {
    let mut expected_prev = GENESIS.to_owned();
    let mut last_seq = 0_i64;
    let mut entries = 0_i64;
    loop {
        let rows = client
            .query(
                include_str!("sql/audit_entries.sql"),
                &[&last_seq, &VERIFY_BATCH],
            )
            .await
            .map_err(AccessError::pg("reading the audit trail"))?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let seq: i64 = r.get("seq");
            let prev_hash: String = r.get("prev_hash");
            let hash: String = r.get("hash");
            let broken = |why: String| {
                Ok(VerifyReport {
                    entries,
                    broken: Some((seq, why)),
                    head: Some(expected_prev.clone()),
                })
            };
            if seq != last_seq + 1 {
                return broken(format!("entry {} is missing", last_seq + 1));
            }
            if prev_hash != expected_prev {
                return broken("its prev_hash is not the previous entry's hash".to_owned());
            }
            let computed = entry_hash(
                &prev_hash,
                seq,
                r.get("at"),
                r.get("actor"),
                r.get("actor_department"),
                r.get("actor_role"),
                r.get("client_addr"),
                r.get("action"),
                r.get("target"),
                r.get("details"),
            );
            if computed != hash {
                return broken("its content does not match its hash (altered)".to_owned());
            }
            expected_prev = hash;
            last_seq = seq;
            entries += 1;
        }
    }
    Ok(VerifyReport {
        entries,
        broken: None,
        head: (entries > 0).then_some(expected_prev),
    })
}

/// A page of entries, newest first. Only for callers `authz::can_read_audit` allows.
pub async fn page(
    client: &impl GenericClient,
    limit: i64,
    offset: i64,
) -> AccessResult<Vec<AuditEntry>> {
    let rows = client
        .query(include_str!("sql/audit_page.sql"), &[&limit, &offset])
        .await
        .map_err(AccessError::pg("reading the audit trail"))?;
    Ok(rows.iter().map(entry).collect())
}

/// A CSV cell that a spreadsheet will not run as a formula: text starting with `=`, `+`, `-`,
/// `@`, tab or carriage return gets a leading `'` (a failed login's target is whatever name
/// the client sent).
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// Entries as CSV with a header line (details as compact JSON; text cells defused against
/// spreadsheet formula injection).
pub fn to_csv(entries: &[AuditEntry]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "seq",
        "at",
        "actor",
        "actor_department",
        "actor_role",
        "client_addr",
        "action",
        "target",
        "details",
        "prev_hash",
        "hash",
    ]);
    for e in entries {
        let _ = w.write_record([
            e.seq.to_string(),
            e.at.clone(),
            cell(&e.actor),
            cell(e.actor_department.as_deref().unwrap_or_default()),
            cell(e.actor_role.as_deref().unwrap_or_default()),
            cell(e.client_addr.as_deref().unwrap_or_default()),
            cell(&e.action),
            cell(e.target.as_deref().unwrap_or_default()),
            cell(&e.details.to_string()),
            e.prev_hash.clone(),
            e.hash.clone(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
