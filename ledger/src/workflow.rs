//! The clue workflow as a state machine, without a database:
//!
//! ```text
//! pending ──verify_problem──▶ verified_problem ──start_rectification──▶ rectifying
//!    │                                                                     │
//!    └──verify_no_problem──▶ verified_no_problem ──close──▶ closed ◀──close── rectified
//!                                                                          ▲
//!                                        rectifying ──report_rectified─────┘
//! ```
//!
//! [`next`] says where an action leads from a status, or why it is refused; [`Action::right`]
//! says which [`ClueRight`] the action needs (asked of `authz::can_act_on_clue`, the single
//! authorization point). What each step must carry (field notes, deadline, evidence…) is
//! checked by `transitions.rs`.

use std::fmt;

use onemap_schemas::authz::ClueRight;
use serde::Serialize;

/// Where a clue stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Imported, not yet verified in the field.
    Pending,
    /// Verified in the field: a real problem, to be rectified.
    VerifiedProblem,
    /// Verified in the field: no problem (a legal activity, a false detection).
    VerifiedNoProblem,
    /// Measures, a deadline and the departments are set; work under way.
    Rectifying,
    /// Reported rectified, with evidence; awaiting sign-off.
    Rectified,
    /// Signed off by the coordinating office.
    Closed,
}

impl Status {
    /// Every status, in workflow order.
    pub const ALL: [Status; 6] = [
        Status::Pending,
        Status::VerifiedProblem,
        Status::VerifiedNoProblem,
        Status::Rectifying,
        Status::Rectified,
        Status::Closed,
    ];

    /// The name stored in `onemap.clues.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::VerifiedProblem => "verified_problem",
            Status::VerifiedNoProblem => "verified_no_problem",
            Status::Rectifying => "rectifying",
            Status::Rectified => "rectified",
            Status::Closed => "closed",
        }
    }

    /// Parses a stored or typed status.
    pub fn parse(name: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A workflow step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Field verification found a problem (field notes, verifier, date).
    VerifyProblem,
    /// Field verification found no problem (field notes, verifier, date).
    VerifyNoProblem,
    /// Measures, deadline, lead and responsible departments.
    StartRectification,
    /// The problem is rectified (evidence, date).
    ReportRectified,
    /// The coordinating office signs off.
    Close,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 5] = [
        Action::VerifyProblem,
        Action::VerifyNoProblem,
        Action::StartRectification,
        Action::ReportRectified,
        Action::Close,
    ];

    /// The name used in `{"action": …}` and in the audit trail (`clue.<name>`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::VerifyProblem => "verify_problem",
            Action::VerifyNoProblem => "verify_no_problem",
            Action::StartRectification => "start_rectification",
            Action::ReportRectified => "report_rectified",
            Action::Close => "close",
        }
    }

    /// Parses an action name.
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// What the actor needs: closing is the coordinating office's sign-off, every other step
    /// is work of the assigned departments.
    pub fn right(self) -> ClueRight {
        match self {
            Action::Close => ClueRight::SignOff,
            _ => ClueRight::Work,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a step is refused in a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub from: Status,
    pub action: Action,
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is not allowed on a {} clue: {}",
            self.action, self.from, self.reason
        )
    }
}

/// The status `action` leads to from `from`, or why it is refused.
pub fn next(from: Status, action: Action) -> Result<Status, Refusal> {
    use Action::*;
    use Status::*;
    let refuse = |reason: &str| {
        Err(Refusal {
            from,
            action,
            reason: reason.to_owned(),
        })
    };
    match (from, action) {
        (Pending, VerifyProblem) => Ok(VerifiedProblem),
        (Pending, VerifyNoProblem) => Ok(VerifiedNoProblem),
        (VerifiedProblem, StartRectification) => Ok(Rectifying),
        (Rectifying, ReportRectified) => Ok(Rectified),
        (Rectified, Close) | (VerifiedNoProblem, Close) => Ok(Closed),
        (Closed, _) => refuse("the clue is closed"),
        (_, VerifyProblem | VerifyNoProblem) => refuse("the clue has already been verified"),
        (Pending, _) => refuse("the clue must first be verified in the field"),
        (VerifiedNoProblem, _) => refuse("no problem was found: the clue can only be closed"),
        (VerifiedProblem, _) => refuse(
            "a problem was found: rectification must be started (measures, deadline, departments)",
        ),
        (Rectifying, StartRectification) => refuse("rectification is already under way"),
        (Rectifying, _) => refuse("the rectification must first be reported done, with evidence"),
        (Rectified, _) => refuse("the rectification is reported: only the sign-off remains"),
    }
}

/// The actions allowed from `from`.
pub fn allowed(from: Status) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|a| next(from, *a).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use Status::*;

    /// The workflow written out as a table, independently of [`next`].
    const ALLOWED: [(Status, Action, Status); 6] = [
        (Pending, VerifyProblem, VerifiedProblem),
        (Pending, VerifyNoProblem, VerifiedNoProblem),
        (VerifiedProblem, StartRectification, Rectifying),
        (Rectifying, ReportRectified, Rectified),
        (Rectified, Close, Closed),
        (VerifiedNoProblem, Close, Closed),
    ];

    #[test]
    fn every_status_and_action_is_allowed_exactly_as_the_table_says_and_refused_otherwise() {
        let mut checked = 0;
        for from in Status::ALL {
            for action in Action::ALL {
                let expected = ALLOWED
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                match (next(from, action), expected) {
                    (Ok(to), Some(want)) => assert_eq!(to, want, "{from} {action}"),
                    (Err(refusal), None) => {
                        assert_eq!((refusal.from, refusal.action), (from, action));
                        assert!(!refusal.reason.is_empty(), "{from} {action}");
                        let text = refusal.to_string();
                        assert!(
                            text.contains(action.as_str()) && text.contains(from.as_str()),
                            "{text}"
                        );
                    }
                    (got, want) => panic!("{from} {action}: got {got:?}, expected {want:?}"),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 6 * 5);
    }

    #[test]
    fn closed_is_the_only_final_status_and_every_other_status_reaches_it() {
        for from in Status::ALL {
            // Follow the first allowed action until nothing is allowed.
            let mut at = from;
            let mut steps = 0;
            while let Some(a) = allowed(at).first() {
                at = next(at, *a).unwrap();
                steps += 1;
                assert!(steps <= 5, "a cycle from {from}");
            }
            assert_eq!(at, Closed, "from {from}");
        }
        assert!(allowed(Closed).is_empty());
        assert_eq!(allowed(Pending), [VerifyProblem, VerifyNoProblem]);
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
        assert_eq!(Status::parse("Pending"), None);
        assert_eq!(Action::parse("approve"), None);
    }

    #[test]
    fn only_closing_needs_the_sign_off_right() {
        for a in Action::ALL {
            let want = if a == Close {
                ClueRight::SignOff
            } else {
                ClueRight::Work
            };
            assert_eq!(a.right(), want, "{a}");
        }
    }
}
