//! Onemap's rectification ledger (问题整改台账): remote-sensing clues of suspected human
//! activity from national, provincial and city monitoring, imported in batches ([`import`]),
//! enriched from the shared map (reserve zones, station jurisdiction, village, land class in
//! each survey year, change parcels) with suggested lead and responsible departments from the
//! editable table `onemap.clue_assignment_rules`, then verified in the field, rectified by a
//! deadline and signed off by the coordinating office ([`workflow`], [`clues`]). Tables in
//! `schemas/migrations/V10__ledger.sql`; who may do what in `authz::can_act_on_clue`.

pub mod clues;
mod error;
pub mod import;
pub mod photos;
pub mod rules;
mod shapefile;
pub mod summary;
pub mod workflow;
pub mod xlsx;

pub use clues::{Clue, ClueEvent, ClueFilter, StepRequest};
pub use error::{LedgerError, LedgerResult};
pub use import::{EnrichLayers, ImportReport, ImportRequest, RejectedRow};
pub use workflow::{Action, Refusal, Status};

#[cfg(test)]
mod tests {
    use onemap_schemas::authz::{can_act_on_clue, ClueRight, Principal, Role, User};

    fn user(department: &str, role: Role) -> Principal {
        Principal::User(User {
            id: 1,
            name: "u".into(),
            department: department.into(),
            role,
        })
    }

    #[test]
    fn assigned_departments_work_the_coordinating_office_signs_off_and_the_public_sees_nothing() {
        let assigned = vec!["zrzy".to_owned(), "lsz".to_owned()];
        let rights = [ClueRight::Read, ClueRight::Work, ClueRight::SignOff];
        for department in ["zrzy", "lsz", "sthwb", "sw"] {
            for role in Role::ALL {
                let who = user(department, role);
                for right in rights {
                    let on_it = department != "sw";
                    let expected = match (role, right) {
                        (Role::Admin, _) => true,
                        (_, ClueRight::Read) => on_it,
                        (Role::Editor, ClueRight::Work) => on_it,
                        (Role::Editor, ClueRight::SignOff) => department == "sthwb",
                        _ => false,
                    };
                    assert_eq!(
                        can_act_on_clue(&who, right, &assigned),
                        expected,
                        "{department} {role} {right:?}"
                    );
                }
            }
        }
        for right in rights {
            assert!(!can_act_on_clue(&Principal::Anonymous, right, &assigned));
            assert!(can_act_on_clue(
                &Principal::Operator("op".into()),
                right,
                &assigned
            ));
        }
    }
}
