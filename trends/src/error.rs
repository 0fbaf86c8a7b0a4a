//! What trend analytics can fail with: the caller's mistakes (a layer that is not land use, a
//! zone that does not exist, a year without a survey) and the database's.

/// A trend query or precompute failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrendsError {
    /// The layer has no class field, so it holds no land-use parcels.
    #[error("layer {0:?} is not a land-use layer (it has no class field)")]
    NotLandUse(String),
    /// A zone layer must hold polygons and must not be a land-use layer.
    #[error("layer {0:?} cannot serve as zones: zones are the polygons of a non-land-use layer")]
    NotZoneLayer(String),
    /// The layer has no version for that survey year (or none at all).
    #[error("layer {layer:?} has no survey version{}", year.map(|y| format!(" for {y}")).unwrap_or_default())]
    NoVersion { layer: String, year: Option<i32> },
    /// No feature of the zone layer has that fid or name.
    #[error(
        "layer {layer:?} has no zone {key:?} (a zone is named by its fid or its name, MC or XZQMC)"
    )]
    NoZone { layer: String, key: String },
    /// A request that makes no sense, such as a range that ends before it starts.
    #[error("{0}")]
    BadRequest(String),
    /// Writing an export file (the GeoPackage) failed.
    #[error("{0}")]
    Export(String),
    /// The database failed; `context` says at which step.
    #[error("{context}: {source}")]
    Postgres {
        context: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
}

impl TrendsError {
    /// A closure wrapping a database error with the step it happened at.
    pub(crate) fn pg(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Self {
        move |source| Self::Postgres { context, source }
    }

    /// Whether the error names something that does not exist (HTTP 404), as opposed to a
    /// malformed request (400) or a failure of ours (500).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NoVersion { .. } | Self::NoZone { .. })
    }

    /// Whether the error is the caller's (4xx) rather than ours.
    pub fn is_client_error(&self) -> bool {
        !matches!(self, Self::Postgres { .. } | Self::Export(_))
    }
}

/// Result with [`TrendsError`].
pub type TrendsResult<T> = Result<T, TrendsError>;
