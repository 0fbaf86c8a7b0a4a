//! The one authorization point. Every read path asks [`can_read`] before it shows a layer (the
//! catalog's `visible` and `layer` are the only ways to reach layers), every publication asks
//! [`can_publish`], every change of a layer's access asks [`can_change_access`], and the audit
//! trail asks [`can_read_audit`]. Nothing else in Onemap decides who may do what.

use std::fmt;

use serde::Serialize;

use crate::catalog::Layer;

/// What a signed-in user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads what their department may see.
    Viewer,
    /// Also publishes versions of, and sets the access of, their own department's layers.
    Editor,
    /// Runs the platform: sees and changes everything.
    Admin,
    /// Reads the audit trail (and what their department may see).
    Auditor,
}

impl Role {
    /// Every role, in order of the CLI's help.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Editor, Role::Admin, Role::Auditor];

    /// The name stored in `onemap.users.role`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }

    /// Parses a stored or typed role name.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signed-in user, as a request or a command acts for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i32,
    pub name: String,
    pub department: String,
    pub role: Role,
}

/// Who is asking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Principal {
    /// The public: no credentials.
    #[default]
    Anonymous,
    /// A user who presented a valid token (or session).
    User(User),
    /// The local operator running the `onemap` program. The CLI is trusted: whoever runs it
    /// holds the database credentials and could do anything in SQL anyway. The name (from
    /// `ONEMAP_USER` or `USER`) is recorded in `ingested_by` and in the audit trail.
    Operator(String),
}

impl Principal {
    /// The name recorded in the audit trail and on published versions.
    pub fn name(&self) -> &str {
        match self {
            Principal::Anonymous => "anonymous",
            Principal::User(u) => &u.name,
            Principal::Operator(name) => name,
        }
    }

    /// The signed-in user, if any.
    pub fn user(&self) -> Option<&User> {
        match self {
            Principal::User(u) => Some(u),
            _ => None,
        }
    }

    fn is_admin(&self) -> bool {
        match self {
            Principal::User(u) => u.role == Role::Admin,
            Principal::Operator(_) => true,
            Principal::Anonymous => false,
        }
    }
}

/// Whether `who` may see `layer` at all (catalog, style, TileJSON, tiles, features…):
/// public layers anyone, internal layers any signed-in user, restricted layers the owner
/// department and the departments in its share list; admins (and the operator) see all.
pub fn can_read(who: &Principal, layer: &Layer) -> bool {
    if who.is_admin() {
        return true;
    }
    match (layer.access_level.as_str(), who) {
        ("public", _) => true,
        ("internal", Principal::User(_)) => true,
        ("restricted", Principal::User(u)) => {
            u.department == layer.department || layer.shared_with.contains(&u.department)
        }
        // Anonymous on internal or restricted, or an access level this build does not know.
        _ => false,
    }
}

/// Whether `who` may publish a new version of a layer owned by `department` (or create a
/// layer for it): editors of that department, and admins.
pub fn can_publish(who: &Principal, department: &str) -> bool {
    who.is_admin()
        || matches!(who, Principal::User(u) if u.role == Role::Editor && u.department == department)
}

/// Whether `who` may change a layer's access level and share list: the same people who
/// publish it.
pub fn can_change_access(who: &Principal, layer: &Layer) -> bool {
    can_publish(who, &layer.department)
}

/// Whether `who` may read the audit trail: auditors and admins.
pub fn can_read_audit(who: &Principal) -> bool {
    who.is_admin() || matches!(who, Principal::User(u) if u.role == Role::Auditor)
}

/// Whether `who` may manage users and tokens of others: admins only.
pub fn can_manage_users(who: &Principal) -> bool {
    who.is_admin()
}

/// The departments whose editors may change the enforcement rules (which land-class
/// transitions are prohibited where): the coordinating ecology committee office and natural
/// resources.
pub const RULE_DEPARTMENTS: [&str; 2] = ["sthwb", "zrzy"];

/// Whether `who` may change the enforcement rules: editors of [`RULE_DEPARTMENTS`], and admins.
pub fn can_edit_rules(who: &Principal) -> bool {
    who.is_admin()
        || matches!(who, Principal::User(u)
            if u.role == Role::Editor && RULE_DEPARTMENTS.contains(&u.department.as_str()))
}

/// The coordinating office (县生态环境保护委员会办公室): sees every remote-sensing clue and
/// signs off the rectification ledger.
pub const COORDINATING_OFFICE: &str = "sthwb";

/// What someone wants to do with one remote-sensing clue of the rectification ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClueRight {
    /// See the clue (lists, detail, export).
    Read,
    /// Work on it: record the field verification, start the rectification (measures,
    /// deadline, departments), report it rectified.
    Work,
    /// Close it: the coordinating office's sign-off.
    SignOff,
}

/// Whether `who` may exercise `right` on a clue assigned to `departments` (its lead and
/// responsible departments; a station is assigned when the clue lies in its jurisdiction).
/// Read: every signed-in user of an assigned department or of the coordinating office. Work:
/// editors of those departments. SignOff: editors of the coordinating office. Admins (and the
/// operator) may do everything; the public nothing: the ledger is internal.
pub fn can_act_on_clue(who: &Principal, right: ClueRight, departments: &[String]) -> bool {
    if who.is_admin() {
        return true;
    }
    let Principal::User(u) = who else {
        return false;
    };
    let coordinator = u.department == COORDINATING_OFFICE;
    let assigned = departments.contains(&u.department);
    match right {
        ClueRight::Read => coordinator || assigned,
        ClueRight::Work => u.role == Role::Editor && (coordinator || assigned),
        ClueRight::SignOff => u.role == Role::Editor && coordinator,
    }
}
