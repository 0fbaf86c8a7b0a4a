//! The MapLibre style of the one map: one vector source per layer the caller may see, land-use
//! layers coloured by their GB/T 21010 class, the others by theme. Land use is drawn first,
//! then areas, lines and points, so nothing small hides under something large.

use onemap_schemas::catalog::Layer;
use onemap_schemas::reference::LandClass;
use serde_json::{json, Value};

/// A colour per theme for layers that are not land use.
fn theme_color(theme: &str) -> &'static str {
    match theme {
        "protected_areas" => "#1b7837",
        "forest_grassland" => "#4d9221",
        "water" => "#2166ac",
        "wildlife" => "#b35806",
        "human_activity" => "#6a3d9a",
        "monitoring" => "#d6604d",
        "enforcement" => "#b2182b",
        _ => "#555555",
    }
}

/// Drawing order: land use at the bottom, points on top.
fn rank(layer: &Layer) -> u8 {
    match (layer.is_land_use(), layer.geometry_type.as_str()) {
        (true, _) => 0,
        (false, "polygon") => 1,
        (false, "line") => 2,
        _ => 3,
    }
}

/// The `match` expression colouring a land-use layer by its class field.
fn class_color(field: &str, classes: &[LandClass]) -> Value {
    let mut expr = vec![json!("match"), json!(["to-string", ["get", field]])];
    for c in classes {
        expr.push(json!(c.code));
        expr.push(json!(c.color));
    }
    expr.push(json!("#cccccc"));
    Value::Array(expr)
}

/// The whole style, with absolute source URLs under `base`.
pub fn one_map_style(base: &str, layers: &[&Layer], classes: &[LandClass]) -> Value {
    let mut ordered: Vec<&Layer> = layers.to_vec();
    ordered.sort_by_key(|l| rank(l));
    let mut sources = serde_json::Map::new();
    let mut style_layers = vec![json!({
        "id": "background",
        "type": "background",
        "paint": { "background-color": "#f4f1ea" }
    })];
    for layer in ordered {
        sources.insert(
            layer.id.clone(),
            json!({ "type": "vector", "url": format!("{base}/tiles/{}", layer.id) }),
        );
        let meta = json!({ "onemap:layer": layer.id, "onemap:department": layer.department });
        let color = theme_color(&layer.theme);
        let common = |suffix: &str, kind: &str| {
            json!({
                "id": format!("{}-{suffix}", layer.id),
                "type": kind,
                "source": layer.id,
                "source-layer": layer.id,
                "metadata": meta,
            })
        };
        match layer.geometry_type.as_str() {
            "polygon" => {
                let mut fill = common("fill", "fill");
                fill["paint"] = match &layer.class_field {
                    Some(field) => json!({
                        "fill-color": class_color(field, classes),
                        "fill-opacity": 0.85,
                    }),
                    None => json!({ "fill-color": color, "fill-opacity": 0.15 }),
                };
                let mut outline = common("outline", "line");
                outline["paint"] = if layer.is_land_use() {
                    json!({
                        "line-color": "#6b6b6b",
                        "line-width": 0.4,
                        "line-opacity": ["interpolate", ["linear"], ["zoom"], 9, 0.0, 12, 0.6],
                    })
                } else {
                    json!({ "line-color": color, "line-width": 1.6 })
                };
                style_layers.push(fill);
                style_layers.push(outline);
            }
            "line" => {
                let mut line = common("line", "line");
                line["paint"] = json!({
                    "line-color": color,
                    "line-width": ["interpolate", ["linear"], ["zoom"], 6, 1.0, 14, 4.0],
                });
                line["layout"] = json!({ "line-cap": "round", "line-join": "round" });
                style_layers.push(line);
            }
            _ => {
                let mut point = common("point", "circle");
                point["paint"] = json!({
                    "circle-color": color,
                    "circle-radius": ["interpolate", ["linear"], ["zoom"], 6, 3.0, 14, 7.0],
                    "circle-stroke-color": "#ffffff",
                    "circle-stroke-width": 1.0,
                });
                style_layers.push(point);
            }
        }
    }
    json!({
        "version": 8,
        "name": "Onemap 一张图",
        "metadata": { "onemap:generated": true },
        "sources": sources,
        "layers": style_layers,
    })
}
