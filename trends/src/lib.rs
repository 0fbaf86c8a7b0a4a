//! Onemap's change-trend analytics: how much land of each class lies in each zone every survey
//! year, and which land changed class between two years (the transition matrix and the change
//! parcels), for decision makers planning enforcement.
//!
//! Queries are fast because the geometry work is done once per survey year
//! ([`precompute`]): each land-use version is overlaid with every zoning layer's newest
//! version and with the previous survey year, and the results land in small summary tables
//! (`onemap.trend_zone_area`, `onemap.trend_transitions`, `onemap.change_parcels`, see
//! `schemas/migrations/V4__trends.sql`). A query for a pair of years or a zone layer that has
//! not been precomputed computes it on the spot, stores it, and answers from the tables.
//!
//! An ad-hoc zone (a polygon sent with the request, [`adhoc`]) cannot be precomputed: its
//! answers clip each year's parcels and the precomputed change parcels to it on the fly
//! ([`area_series_in`], [`transitions_in`], [`changes_with`]). The change parcels can be
//! written as a GeoPackage ([`gpkg`]).
//!
//! Every area is geodesic (on the WGS 84 ellipsoid, like `onemap.features.area_m2`).

pub mod adhoc;
mod error;
pub mod export;
pub mod gpkg;
pub mod precompute;
pub mod query;

pub use adhoc::{AdHocZone, ZoneBody};
pub use error::{TrendsError, TrendsResult};
pub use precompute::{
    precompute, precompute_published, LandUseVersion, PrecomputeReport, PublishedPrecompute,
    YearReport, ZoneVersion,
};
pub use query::{
    area_series, area_series_in, change_versions, changes, changes_with, survey_versions,
    transitions, transitions_in, AreaPoint, AreaSeries, ChangeParcel, ChangeParcels,
    ChangesOptions, ClassSummary, Level, Places, TransitionCell, TransitionMatrix, TrendQuery,
};
