//! The MapLibre style of the one map: one vector source per layer the caller may see, land-use
//! layers coloured by their GB/T 21010 class, the others by theme. Land use is drawn first,
//! then areas, lines and points, so nothing small hides under something large. Labels (names
//! of zones, rivers, roads, villages and stations; parcel numbers at high zoom) come last.
//!
//! The style has no `glyphs` URL on purpose: MapLibre GL JS (5.11 and later) then draws every
//! glyph in the browser from the fonts named by `text-font` (CSS families), so labels need no
//! font server, no glyph files and no network. Chinese names use the reader's own CJK font.

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

/// CSS font families for labels, drawn locally (no `glyphs` URL): common CJK fonts of Linux,
/// Windows and macOS first, the generic family last so something always draws.
const LABEL_FONTS: [&str; 5] = [
    "Noto Sans CJK SC",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "sans-serif",
];

/// The name a feature is labelled with: the first of the usual name attributes it has
/// (`name` in our layers, `MC`/`XZQMC` in survey deliveries). Features without any get no label.
fn name_expr() -> Value {
    json!(["coalesce", ["get", "name"], ["get", "MC"], ["get", "XZQMC"]])
}

/// The label (symbol) layer of `layer`: names of zones, lines and points, parcel numbers of land use.
fn label_layer(layer: &Layer, base: Value) -> Value {
    let mut label = base;
    let halo = json!({
        "text-color": "#222222",
        "text-halo-color": "#ffffff",
        "text-halo-width": 1.4,
    });
    let (minzoom, layout) = match (layer.is_land_use(), layer.geometry_type.as_str()) {
        // Parcel numbers (图斑编号): only where parcels are big enough to carry them.
        (true, _) => (
            15,
            json!({
                "text-field": ["to-string", ["get", "TBBH"]],
                "text-font": LABEL_FONTS,
                "text-size": 11,
            }),
        ),
        (false, "polygon") => (
            6,
            json!({
                "text-field": name_expr(),
                "text-font": LABEL_FONTS,
                "text-size": 13,
                "text-max-width": 8,
            }),
        ),
        (false, "line") => (
            10,
            json!({
                "text-field": name_expr(),
                "text-font": LABEL_FONTS,
                "text-size": 12,
                "symbol-placement": "line",
            }),
        ),
        _ => (
            9,
            json!({
                "text-field": name_expr(),
                "text-font": LABEL_FONTS,
                "text-size": 12,
                "text-anchor": "top",
                "text-offset": [0.0, 0.6],
                "text-max-width": 8,
            }),
        ),
    };
    label["minzoom"] = json!(minzoom);
    // MapLibre labels a polygon once per tile piece, so a large area's name would repeat on
    // every tile it touches. Named areas are labelled instead from their label points: the
    // tile that holds a feature's point on surface carries it in `{layer}_labels` (see
    // tiles/sql.rs), so each area is named once per view, at every zoom.
    if layer.geometry_type == "polygon" && !layer.is_land_use() {
        label["source-layer"] = json!(format!("{}_labels", layer.id));
    }
    label["layout"] = layout;
    label["paint"] = halo;
    label
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
    let mut labels = Vec::new();
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
                    // Parcel borders, from the zoom where tiles draw parcels: below it a tile
                    // is a mosaic of classes whose edges (tile edges among them) are no borders.
                    outline["minzoom"] = json!(crate::tiles::GENERALISED_MAX_ZOOM + 1);
                    json!({
                        "line-color": "#6b6b6b",
                        "line-width": 0.4,
                        "line-opacity": ["interpolate", ["linear"], ["zoom"], 12, 0.3, 14, 0.6],
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
        labels.push(label_layer(layer, common("label", "symbol")));
    }
    // Labels above every geometry, in the same order among themselves.
    style_layers.extend(labels);
    json!({
        "version": 8,
        "name": "Onemap 一张图",
        "metadata": { "onemap:generated": true },
        "sources": sources,
        "layers": style_layers,
    })
}
