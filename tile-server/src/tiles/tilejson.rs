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
    let mut vector_layers = vec![json!({
        "id": layer.id,
        "description": layer.title_en,
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "fields": fields,
    })];
    // Named areas also carry their label points (see tile_labels.sql); the style labels from
    // them, and MapLibre wants every source layer the style names listed here.
    if layer.geometry_type == "polygon" && !layer.is_land_use() {
        vector_layers.push(json!({
            "id": format!("{}_labels", layer.id),
            "description": format!("{}: one label point per named feature", layer.title_en),
            "minzoom": 6,
            "maxzoom": MAX_ZOOM,
            "fields": {"name": "String", "name_en": "String", "MC": "String", "XZQMC": "String"},
        }));
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
        "vector_layers": vector_layers,
    })
}

/// TileJSON for several layers served as one tile (`/tiles/a,b/{z}/{x}/{y}`): one vector layer
/// per layer, bounds covering them all.
pub fn composite_tilejson(
    base: &str,
    layers: &[(&Layer, &LayerVersion)],
    year: Option<i32>,
) -> Value {
    let ids: Vec<&str> = layers.iter().map(|(l, _)| l.id.as_str()).collect();
    let parts: Vec<Value> = layers
        .iter()
        .map(|(l, v)| layer_tilejson(base, l, v, year))
        .collect();
    let mut bounds = [180.0_f64, 90.0, -180.0, -90.0];
    for p in &parts {
        if let Some(b) = p["bounds"].as_array() {
            let b: Vec<f64> = b.iter().filter_map(Value::as_f64).collect();
            bounds = [
                bounds[0].min(b[0]),
                bounds[1].min(b[1]),
                bounds[2].max(b[2]),
                bounds[3].max(b[3]),
            ];
        }
    }
    let center = [
        f64::midpoint(bounds[0], bounds[2]),
        f64::midpoint(bounds[1], bounds[3]),
        8.0,
    ];
    let query = year.map(|y| format!("?year={y}")).unwrap_or_default();
    let names: Vec<&str> = layers.iter().map(|(l, _)| l.title_zh.as_str()).collect();
    let vector_layers: Vec<Value> = parts
        .iter()
        .flat_map(|p| p["vector_layers"].as_array().cloned().unwrap_or_default())
        .collect();
    json!({
        "tilejson": "3.0.0",
        "name": names.join(" + "),
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [format!("{base}/tiles/{}/{{z}}/{{x}}/{{y}}{query}", ids.join(","))],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": bounds,
        "center": center,
        "vector_layers": vector_layers,
    })
}
