//! The editable table of suggested departments (`onemap.clue_assignment_rules`, semantics in
//! schemas/migrations/V10__ledger.sql): read by every signed-in user, changed by editors of
//! the coordinating office and admins (`authz::can_act_on_clue` with `ClueRight::SignOff`, the
//! office's own right) and by the operator's CLI. Every change is audited (`ledger.rules`) and,
//! in the same transaction, re-suggests departments for every clue and re-assigns the pending
//! ones (no step has assigned them by hand yet; verified and later clues keep their
//! departments, only their suggestion changes).

use onemap_access::{Acting, Principal};
use onemap_schemas::authz::{can_act_on_clue, ClueRight};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_postgres::{Client, GenericClient, Transaction};

use crate::{LedgerError, LedgerResult};

/// One rule. `lead`/`responsible` are department codes, or `station` for the station whose
/// jurisdiction holds the clue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Given by the database; ignored when a whole table is put.
    #[serde(default)]
    pub id: Option<i32>,
    /// An activity, or `*` for any.
    pub activity: String,
    #[serde(default)]
    pub in_reserve_only: bool,
    #[serde(default)]
    pub lead: Option<String>,
    #[serde(default)]
    pub responsible: Vec<String>,
    #[serde(default)]
    pub note: String,
}

/// What a change did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RulesChange {
    pub rules: Vec<Rule>,
    /// Pending clues whose departments were suggested again.
    pub reassigned_pending: u64,
    pub audit_seq: i64,
}

const ACTIVITIES: [&str; 9] = [
    "*",
    "mining",
    "construction",
    "road",
    "hydropower",
    "tourism_facility",
    "grazing",
    "reclamation",
    "other",
];

/// Whether `who` may change the rules.
pub fn can_edit(who: &Principal) -> bool {
    can_act_on_clue(who, ClueRight::SignOff, &[])
}

/// The rules, in the order they were made.
pub async fn list(client: &impl GenericClient) -> LedgerResult<Vec<Rule>> {
    Ok(client
        .query(include_str!("sql/rules.sql"), &[])
        .await
        .map_err(LedgerError::pg("reading the assignment rules"))?
        .iter()
        .map(|r| Rule {
            id: Some(r.get("id")),
            activity: r.get("activity"),
            in_reserve_only: r.get("in_reserve_only"),
            lead: r.get("lead"),
            responsible: r.get("responsible"),
            note: r.get("note"),
        })
        .collect())
}

async fn check(tx: &Transaction<'_>, rule: &Rule) -> LedgerResult<()> {
    if !ACTIVITIES.contains(&rule.activity.as_str()) {
        return Err(LedgerError::Invalid(format!(
            "unknown activity {:?} in a rule: * or {}",
            rule.activity,
            ACTIVITIES[1..].join(", ")
        )));
    }
    if rule.lead.is_none() && rule.responsible.is_empty() {
        return Err(LedgerError::Invalid(format!(
            "a rule for {} names no department",
            rule.activity
        )));
    }
    if rule.note.chars().count() > 500 {
        return Err(LedgerError::Invalid(
            "a rule's note is longer than 500 characters".into(),
        ));
    }
    let codes: Vec<String> = rule
        .lead
        .iter()
        .chain(&rule.responsible)
        .filter(|c| *c != "station")
        .cloned()
        .collect();
    let unknown: Vec<String> = tx
        .query(include_str!("sql/departments_unknown.sql"), &[&codes])
        .await
        .map_err(LedgerError::pg("checking the departments"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(LedgerError::Invalid(format!(
            "unknown department(s) in a rule: {} (department codes or station)",
            unknown.join(", ")
        )))
    }
}

async fn insert(tx: &Transaction<'_>, rule: &Rule) -> LedgerResult<()> {
    check(tx, rule).await?;
    tx.execute(
        include_str!("sql/rule_insert.sql"),
        &[
            &rule.activity,
            &rule.in_reserve_only,
            &rule.lead,
            &rule.responsible,
            &rule.note,
        ],
    )
    .await
    .map_err(LedgerError::pg("saving a rule"))?;
    Ok(())
}

/// Re-suggests departments for every clue, re-assigns the pending ones, audits, commits.
async fn finish(
    tx: Transaction<'_>,
    acting: &Acting,
    change: serde_json::Value,
) -> LedgerResult<RulesChange> {
    let pending: Vec<i64> = tx
        .query(include_str!("sql/pending_unassign.sql"), &[])
        .await
        .map_err(LedgerError::pg("re-assigning the pending clues"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let all: Vec<i64> = tx
        .query("SELECT id FROM onemap.clues", &[])
        .await
        .map_err(LedgerError::pg("listing the clues"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    tx.execute(include_str!("sql/assign.sql"), &[&all])
        .await
        .map_err(LedgerError::pg("suggesting departments"))?;
    let rules = list(&tx).await?;
    let audit_seq = onemap_access::audit::append(
        &tx,
        acting,
        "ledger.rules",
        Some("clue_assignment_rules"),
        &json!({"change": change, "rules": rules, "reassigned_pending": pending.len()}),
    )
    .await?;
    tx.commit()
        .await
        .map_err(LedgerError::pg("committing the rules"))?;
    Ok(RulesChange {
        rules,
        reassigned_pending: pending.len() as u64,
        audit_seq,
    })
}

fn authorize(acting: &Acting) -> LedgerResult<()> {
    if can_edit(&acting.who) {
        Ok(())
    } else {
        Err(LedgerError::Forbidden(format!(
            "only editors of the coordinating office ({}) and admins change the assignment rules",
            onemap_schemas::authz::COORDINATING_OFFICE
        )))
    }
}

/// Replaces the whole table with `rules` (their ids ignored) as `acting`.
pub async fn replace(
    client: &mut Client,
    acting: &Acting,
    rules: &[Rule],
) -> LedgerResult<RulesChange> {
    authorize(acting)?;
    if rules.len() > 200 {
        return Err(LedgerError::Invalid("more than 200 rules".into()));
    }
    let tx = client
        .transaction()
        .await
        .map_err(LedgerError::pg("starting the change"))?;
    tx.execute("DELETE FROM onemap.clue_assignment_rules", &[])
        .await
        .map_err(LedgerError::pg("clearing the rules"))?;
    for rule in rules {
        insert(&tx, rule).await?;
    }
    finish(tx, acting, json!("replace")).await
}

/// Adds `rule`, or with an id changes that rule, as `acting`.
pub async fn set(client: &mut Client, acting: &Acting, rule: &Rule) -> LedgerResult<RulesChange> {
    authorize(acting)?;
    let tx = client
        .transaction()
        .await
        .map_err(LedgerError::pg("starting the change"))?;
    match rule.id {
        None => insert(&tx, rule).await?,
        Some(id) => {
            check(&tx, rule).await?;
            let n = tx
                .execute(
                    include_str!("sql/rule_update.sql"),
                    &[
                        &id,
                        &rule.activity,
                        &rule.in_reserve_only,
                        &rule.lead,
                        &rule.responsible,
                        &rule.note,
                    ],
                )
                .await
                .map_err(LedgerError::pg("saving a rule"))?;
            if n == 0 {
                return Err(LedgerError::NotFound(format!("no rule {id}")));
            }
        }
    }
    finish(tx, acting, json!({"set": rule})).await
}

/// Deletes rule `id` as `acting`.
pub async fn delete(client: &mut Client, acting: &Acting, id: i32) -> LedgerResult<RulesChange> {
    authorize(acting)?;
    let tx = client
        .transaction()
        .await
        .map_err(LedgerError::pg("starting the change"))?;
    let n = tx
        .execute(
            "DELETE FROM onemap.clue_assignment_rules WHERE id = $1",
            &[&id],
        )
        .await
        .map_err(LedgerError::pg("deleting a rule"))?;
    if n == 0 {
        return Err(LedgerError::NotFound(format!("no rule {id}")));
    }
    finish(tx, acting, json!({"delete": id})).await
}
