//! The tile SQL, generated per geometry type from the catalog's description of a layer.
//!
//! martin-core binds z, x, y as `$1..$3` and the request's query as a JSON object `$4`. The
//! server never passes the client's query through: it resolves the layer and version itself
//! (after authorization) and sends `{"layer": ..., "version": ...}`, so the SQL text holds no
//! value at all and is the same for every layer of a geometry type.

/// Pixels of buffer around a tile (of 4096), so polygons drawn from adjacent tiles meet
/// without seams and lines and points near an edge are not cut.
pub const BUFFER: i32 = 64;
pub const EXTENT: i32 = 4096;

/// The tile query for a layer of `geometry_type` (`point`, `line` or `polygon`).
pub fn tile_query(geometry_type: &str) -> String {
    // Polygons carry their geodesic area as a property; other geometries have none.
    let area = if geometry_type == "polygon" {
        ", f.area_m2"
    } else {
        ""
    };
    let tile = format!(
        include_str!("../sql/tile.sql"),
        area = area,
        extent = EXTENT,
        buffer = BUFFER,
        margin = f64::from(BUFFER) / f64::from(EXTENT),
    );
    if geometry_type != "polygon" {
        return tile;
    }
    // Areas also carry one label point per named feature (see tile_labels.sql).
    format!(
        include_str!("../sql/tile_labels.sql"),
        tile = tile,
        extent = EXTENT
    )
}

/// The tile query of generalised land use (see `generalise.rs`): z, x, y as `$1..$3`, then the
/// version id, the MVT layer name and the class field name.
pub fn generalised_query() -> String {
    format!(
        include_str!("../sql/tile_generalised.sql"),
        extent = EXTENT,
        buffer = BUFFER,
        margin = f64::from(BUFFER) / f64::from(EXTENT),
    )
}

/// The tile query of land-use parcels with their id, class and rounded area only (see
/// `generalise.rs`, [`super::generalise::SLIM_MAX_ZOOM`]); same parameters as
/// [`generalised_query`].
pub fn slim_query() -> String {
    format!(
        include_str!("../sql/tile_land_use_slim.sql"),
        extent = EXTENT,
        buffer = BUFFER,
        margin = f64::from(BUFFER) / f64::from(EXTENT),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_binds_every_value() {
        let q = tile_query("polygon");
        for p in ["$1", "$2", "$3", "$4"] {
            assert!(q.contains(p), "{p} missing in {q}");
        }
        assert!(q.contains("area_m2"));
        assert!(!tile_query("point").contains("area_m2"));
        assert!(q.contains("_labels"));
        assert!(!tile_query("line").contains("_labels"));
    }
}
