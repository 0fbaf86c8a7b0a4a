//! The enforcement rules: `onemap.transition_rules` classifies each land-class transition as
//! degradation, stable or improvement and names the reserve zone kinds where it is prohibited.
//! Defaults ship in the migration (and stay in `onemap.transition_rule_defaults`); editors of
//! the coordinating office and natural resources, and admins, change them
//! (`authz::can_edit_rules`), each change appended to the audit trail in its own transaction.
//!
//! A class pattern is `*` (any class), a prefix ending in `*` (`05*`), a first-level class
//! (`03`: every code starting with 03), or a code as surveyed (`0602`, `204`). The most
//! specific matching rule decides (`onemap.transition_rule` in the migration).

use onemap_access::{audit, Acting};
use onemap_schemas::authz::{can_edit_rules, RULE_DEPARTMENTS};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_postgres::{Client, GenericClient, Transaction};

use crate::{EnforcementError, EnforcementResult};

/// How a transition changes the land (Trends.Earth's three classes).
pub const TRENDS: [&str; 3] = ["degradation", "stable", "improvement"];

/// The zone kinds a transition may be prohibited in (`outside`: land in no reserve zone).
pub const ZONE_KINDS: [&str; 4] = ["core", "buffer", "experimental", "outside"];

/// Serialises rule edits ("rule" in ASCII).
const RULES_LOCK: i64 = 0x7275_6c65;

/// One rule: a transition pattern, its trend, and where it is prohibited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionRule {
    pub from_class: String,
    pub to_class: String,
    /// `degradation`, `stable` or `improvement`.
    pub trend: String,
    /// Zone kinds where the transition is flagged for enforcement.
    #[serde(default)]
    pub prohibited_in: Vec<String>,
    #[serde(default)]
    pub note: String,
}

fn valid_pattern(p: &str) -> bool {
    if p == "*" {
        return true;
    }
    let body = p.strip_suffix('*').unwrap_or(p);
    (2..=6).contains(&body.len()) && body.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl TransitionRule {
    /// Checks the patterns, the trend and the zone kinds; sorts and deduplicates the kinds.
    pub fn validated(mut self) -> EnforcementResult<Self> {
        for p in [&self.from_class, &self.to_class] {
            if !valid_pattern(p) {
                return Err(EnforcementError::Invalid(format!(
                    "class pattern {p:?} must be *, a class code of 2 to 6 letters or digits \
                     (03, 0602, 204), or such a prefix followed by *"
                )));
            }
        }
        if !TRENDS.contains(&self.trend.as_str()) {
            return Err(EnforcementError::Invalid(format!(
                "trend must be degradation, stable or improvement, not {:?}",
                self.trend
            )));
        }
        for k in &self.prohibited_in {
            if !ZONE_KINDS.contains(&k.as_str()) {
                return Err(EnforcementError::Invalid(format!(
                    "zone kind must be core, buffer, experimental or outside, not {k:?}"
                )));
            }
        }
        self.prohibited_in
            .sort_by_key(|k| ZONE_KINDS.iter().position(|z| z == k));
        self.prohibited_in.dedup();
        Ok(self)
    }
}

/// The rules in force, oldest first.
pub async fn list(client: &impl GenericClient) -> EnforcementResult<Vec<TransitionRule>> {
    read(client, include_str!("sql/rules_list.sql")).await
}

/// The platform's default rules.
pub async fn defaults(client: &impl GenericClient) -> EnforcementResult<Vec<TransitionRule>> {
    read(client, include_str!("sql/rules_defaults.sql")).await
}

async fn read(client: &impl GenericClient, sql: &str) -> EnforcementResult<Vec<TransitionRule>> {
    let rows = client
        .query(sql, &[])
        .await
        .map_err(EnforcementError::pg("reading the rules"))?;
    Ok(rows
        .iter()
        .map(|r| TransitionRule {
            from_class: r.get("from_class"),
            to_class: r.get("to_class"),
            trend: r.get("trend"),
            prohibited_in: r.get("prohibited_in"),
            note: r.get("note"),
        })
        .collect())
}

fn check_allowed(acting: &Acting) -> EnforcementResult<()> {
    if can_edit_rules(&acting.who) {
        return Ok(());
    }
    Err(EnforcementError::Forbidden(format!(
        "{} may not change the enforcement rules (editors of {} and admins may)",
        acting.who.name(),
        RULE_DEPARTMENTS.join(", ")
    )))
}

async fn begin(client: &mut Client) -> EnforcementResult<Transaction<'_>> {
    let tx = client
        .transaction()
        .await
        .map_err(EnforcementError::pg("starting the rule change"))?;
    tx.execute(include_str!("sql/rules_lock.sql"), &[&RULES_LOCK])
        .await
        .map_err(EnforcementError::pg("taking the rules lock"))?;
    Ok(tx)
}

async fn insert(tx: &Transaction<'_>, rule: &TransitionRule) -> EnforcementResult<()> {
    tx.execute(
        include_str!("sql/rules_upsert.sql"),
        &[
            &rule.from_class,
            &rule.to_class,
            &rule.trend,
            &rule.prohibited_in,
            &rule.note,
        ],
    )
    .await
    .map_err(EnforcementError::pg("writing a rule"))?;
    Ok(())
}

/// Replaces every rule by `rules` (in their order), audited as `rules.replace` with the rules
/// before and after. Returns the audit entry's sequence number.
pub async fn replace(
    client: &mut Client,
    acting: &Acting,
    rules: Vec<TransitionRule>,
) -> EnforcementResult<i64> {
    check_allowed(acting)?;
    let rules = rules
        .into_iter()
        .map(TransitionRule::validated)
        .collect::<EnforcementResult<Vec<_>>>()?;
    for (i, r) in rules.iter().enumerate() {
        if rules[..i]
            .iter()
            .any(|o| o.from_class == r.from_class && o.to_class == r.to_class)
        {
            return Err(EnforcementError::Invalid(format!(
                "two rules for {} → {}",
                r.from_class, r.to_class
            )));
        }
    }
    let tx = begin(client).await?;
    let before = list(&tx).await?;
    tx.execute(include_str!("sql/rules_clear.sql"), &[])
        .await
        .map_err(EnforcementError::pg("clearing the rules"))?;
    for r in &rules {
        insert(&tx, r).await?;
    }
    let seq = audit::append(
        &tx,
        acting,
        "rules.replace",
        Some("transition_rules"),
        &json!({ "from": before, "to": rules }),
    )
    .await?;
    tx.commit()
        .await
        .map_err(EnforcementError::pg("committing the rules"))?;
    Ok(seq)
}

/// Adds or changes the rule for one transition pattern, audited as `rules.set` with the rule
/// before (null when new) and after. Returns the audit entry's sequence number.
pub async fn set(
    client: &mut Client,
    acting: &Acting,
    rule: TransitionRule,
) -> EnforcementResult<i64> {
    check_allowed(acting)?;
    let rule = rule.validated()?;
    let tx = begin(client).await?;
    let before = list(&tx)
        .await?
        .into_iter()
        .find(|r| r.from_class == rule.from_class && r.to_class == rule.to_class);
    insert(&tx, &rule).await?;
    let target = format!("{} → {}", rule.from_class, rule.to_class);
    let seq = audit::append(
        &tx,
        acting,
        "rules.set",
        Some(&target),
        &json!({ "from": before, "to": rule }),
    )
    .await?;
    tx.commit()
        .await
        .map_err(EnforcementError::pg("committing the rule"))?;
    Ok(seq)
}

/// Deletes the rule for `from_class → to_class`, audited as `rules.delete`.
pub async fn delete(
    client: &mut Client,
    acting: &Acting,
    from_class: &str,
    to_class: &str,
) -> EnforcementResult<i64> {
    check_allowed(acting)?;
    let tx = begin(client).await?;
    let before = list(&tx)
        .await?
        .into_iter()
        .find(|r| r.from_class == from_class && r.to_class == to_class)
        .ok_or_else(|| {
            EnforcementError::NotFound(format!("no rule for {from_class} → {to_class}"))
        })?;
    tx.execute(
        include_str!("sql/rules_delete.sql"),
        &[&from_class, &to_class],
    )
    .await
    .map_err(EnforcementError::pg("deleting the rule"))?;
    let target = format!("{from_class} → {to_class}");
    let seq = audit::append(
        &tx,
        acting,
        "rules.delete",
        Some(&target),
        &json!({ "from": before }),
    )
    .await?;
    tx.commit()
        .await
        .map_err(EnforcementError::pg("committing the deletion"))?;
    Ok(seq)
}

/// Restores the platform's default rules (audited as a `rules.replace`).
pub async fn reset(client: &mut Client, acting: &Acting) -> EnforcementResult<i64> {
    let rules = defaults(&*client).await?;
    replace(client, acting, rules).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(from: &str, to: &str, trend: &str, kinds: &[&str]) -> TransitionRule {
        TransitionRule {
            from_class: from.into(),
            to_class: to.into(),
            trend: trend.into(),
            prohibited_in: kinds.iter().map(|k| k.to_string()).collect(),
            note: String::new(),
        }
    }

    #[test]
    fn patterns_trends_and_zone_kinds_are_checked_and_kinds_put_in_order() {
        let ok = rule("04", "0602", "degradation", &["buffer", "core", "core"])
            .validated()
            .unwrap();
        assert_eq!(ok.prohibited_in, ["core", "buffer"]);
        assert!(rule("*", "05*", "stable", &[]).validated().is_ok());
        assert!(rule("204", "1108", "improvement", &["outside"])
            .validated()
            .is_ok());
        for bad in [
            rule("'", "01", "stable", &[]),
            rule("0", "01", "stable", &[]),
            rule("03", "01 OR 1=1", "stable", &[]),
            rule("**", "01", "stable", &[]),
            rule("03", "01", "bad", &[]),
            rule("03", "01", "stable", &["nowhere"]),
        ] {
            assert!(bad.clone().validated().is_err(), "{bad:?}");
        }
    }
}
