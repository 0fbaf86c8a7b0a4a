//! RFC 7946 GeoJSON writer: one FeatureCollection in WGS 84 longitude/latitude, no `crs`
//! member, exteriors counter-clockwise and holes clockwise, coordinates to 1e-7 degree.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde_json::{json, Map, Value as Json};

use super::geom::{oriented, Polygon, Pt};
use super::{Feature, Geom, LayerSpec, Value};

/// Writes `features` as a FeatureCollection at `path` (replaced if it exists).
pub(crate) fn write(
    path: &Path,
    spec: &LayerSpec,
    features: impl Iterator<Item = Feature>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        spec.srs_id == 4326,
        "GeoJSON layer {} must be EPSG:4326",
        spec.table
    );
    let features: Vec<Json> = features
        .map(|f| {
            let mut props = Map::new();
            for ((name, _), value) in spec.fields.iter().zip(f.values) {
                let v = match value {
                    Value::Text(s) => Json::from(s),
                    Value::Int(i) => Json::from(i),
                    Value::Real(r) => Json::from(r),
                };
                props.insert((*name).to_string(), v);
            }
            json!({ "type": "Feature", "properties": props, "geometry": geometry(&f.geom) })
        })
        .collect();
    let collection = json!({ "type": "FeatureCollection", "features": features });
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut out, &collection)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

fn pt(p: Pt) -> Json {
    json!([(p[0] * 1e7).round() / 1e7, (p[1] * 1e7).round() / 1e7])
}

fn polygon(poly: &Polygon) -> Json {
    Json::Array(
        poly.iter()
            .enumerate()
            .map(|(k, ring)| {
                let ring = oriented(ring, k == 0);
                Json::Array(ring.iter().chain(ring.first()).map(|p| pt(*p)).collect())
            })
            .collect(),
    )
}

fn geometry(geom: &Geom) -> Json {
    match geom {
        Geom::Point(p) => json!({ "type": "Point", "coordinates": pt(*p) }),
        Geom::LineString(l) => {
            json!({ "type": "LineString", "coordinates": l.iter().map(|p| pt(*p)).collect::<Vec<_>>() })
        }
        Geom::Polygon(p) => json!({ "type": "Polygon", "coordinates": polygon(p) }),
        Geom::MultiPolygon(m) => {
            json!({ "type": "MultiPolygon", "coordinates": m.iter().map(polygon).collect::<Vec<_>>() })
        }
    }
}
