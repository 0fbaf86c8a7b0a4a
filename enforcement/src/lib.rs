//! Onemap's enforcement planning, on top of the change-trend tables (`onemap-trends`): which
//! land-class transitions are degradation, stable or improvement and where they are prohibited
//! ([`rules`], the editable table `onemap.transition_rules` of
//! `schemas/migrations/V9__enforcement.sql`, every edit audited), the change pieces that break
//! a rule in the reserve zone they lie in, ranked as hotspots by zone, station, village or grid
//! cell, and listed as field tasks per responsible station or department ([`hotspots`]), and
//! the change-parcel tile layer ([`tiles`]).
//!
//! Flags are computed on the fly from the precomputed change parcels (a few thousand pieces a
//! year), so a rule edit applies to the next query at once. Every area is geodesic.

mod error;
pub mod hotspots;
pub mod rules;
pub mod tiles;

pub use error::{EnforcementError, EnforcementResult};
pub use hotspots::{
    flagged, hotspots, tasks, EnforcementQuery, Flagged, FlaggedPiece, Hotspot, HotspotBy,
    Hotspots, Task,
};
pub use rules::TransitionRule;

/// The SQL of the flagged pieces and of the change tiles: each wraps `sql/segments.sql`.
pub(crate) fn with_segments(sql: &str) -> String {
    sql.replace("SEGMENTS", include_str!("sql/segments.sql"))
}
