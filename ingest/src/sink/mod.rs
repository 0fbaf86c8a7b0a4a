//! Where readers push features: each feature becomes one binary COPY row
//! `(version_id, fid, props, geom)`, batched into chunks sent to the async COPY writer; for
//! the SRIDs of [`client_derives`] (geographic, CGCS2000 Gauss-Krüger, WGS 84 / UTM) worker
//! threads append `geom_3857` and `area_m2` to each row ([`Deriver`]).

mod copy;
mod derive;
mod ewkb;

pub use copy::{
    FieldProblem, Rejection, RowSink, SinkSummary, COPY_HEADER, COPY_TRAILER, MAX_EXAMPLES,
};
pub use derive::{client_derives, Deriver, Malformed};
pub use ewkb::EwkbEncoder;

use std::fmt;

/// The dimension of a layer's geometries, as stored in `onemap.layers.geometry_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometryKind {
    Point,
    Line,
    Polygon,
}

impl GeometryKind {
    /// The catalog's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Point => "point",
            Self::Line => "line",
            Self::Polygon => "polygon",
        }
    }

    /// Parses the catalog's name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "point" => Some(Self::Point),
            "line" => Some(Self::Line),
            "polygon" => Some(Self::Polygon),
            _ => None,
        }
    }

    /// From an OGC geometry type name (`MULTIPOLYGON`, `LineString`, ...); `None` for generic or
    /// curved types.
    pub fn from_ogc_name(name: &str) -> Option<Self> {
        match name.to_ascii_uppercase().as_str() {
            "POINT" | "MULTIPOINT" => Some(Self::Point),
            "LINESTRING" | "MULTILINESTRING" => Some(Self::Line),
            "POLYGON" | "MULTIPOLYGON" => Some(Self::Polygon),
            _ => None,
        }
    }
}

impl fmt::Display for GeometryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
