//! TileJSON 3.0.0 for a layer, built from the catalog.

use onemap_schemas::catalog::{Layer, LayerVersion};
use serde_json::{json, Value};

/// Deepest zoom the tiles are served at; MapLibre over-zooms beyond it.
pub const MAX_ZOOM: u8 = 22;

/// TileJSON for `version` of `layer`, with tile URLs under `base` (e.g. `http://host:8080`).
pub fn layer_tilejson(
    base: &str,
    layer: &Layer,
    version: &LayerVersion,
    year: Option<i32>,
) -> Value {
    let query = year.map(|y| format!("?year={y}")).unwrap_or_default();
    let bounds = version
        .bbox
        .clone()
        .filter(|b| b.len() == 4)
        .unwrap_or_else(|| vec![-180.0, -85.051_128_779_8, 180.0, 85.051_128_779_8]);
    let center = vec![
        f64::midpoint(bounds[0], bounds[2]),
        f64::midpoint(bounds[1], bounds[3]),
        8.0,
    ];
    let mut fields = serde_json::Map::new();
    if layer.geometry_type == "polygon" {
        fields.insert("area_m2".into(), json!("Number"));
    }
    if let Some(f) = &layer.class_field {
        fields.insert(f.clone(), json!("String"));
    }
    json!({
        "tilejson": "3.0.0",
        "name": layer.title_zh,
        "description": format!("{} ({}), {}", layer.title_en, layer.department_name_en, version.label),
        "version": "1.0.0",
        "attribution": layer.department_name_zh,
        "scheme": "xyz",
        "tiles": [format!("{base}/tiles/{}/{{z}}/{{x}}/{{y}}{query}", layer.id)],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": bounds,
        "center": center,
        "vector_layers": [{
            "id": layer.id,
            "description": layer.title_en,
            "minzoom": 0,
            "maxzoom": MAX_ZOOM,
            "fields": fields,
        }],
    })
}
