//! The demo's GeoPackage files: one feature table per file, written with the GeoPackage pieces
//! of [`onemap_trends::gpkg`] (core tables, SRS rows, table registration, the binary geometry
//! header with an XY envelope), then little-endian ISO WKB encoded here.

use std::path::Path;

use anyhow::Context;
use onemap_trends::gpkg::{
    add_srs, create_core, geometry_header, register_feature_table, FeatureTable, GpkgSrs,
};
use rusqlite::{params_from_iter, Connection, ToSql};

use super::geom::{bbox, oriented, Polygon, Pt};
use super::{Feature, FieldKind, Geom, LayerSpec, Value};

/// CGCS2000 (EPSG:4490), recorded in every demo GeoPackage beside the required rows.
fn cgcs2000() -> GpkgSrs {
    GpkgSrs {
        srs_id: 4490,
        name: "China Geodetic Coordinate System 2000".into(),
        organization: "EPSG".into(),
        organization_coordsys_id: 4490,
        definition: "GEOGCS[\"China Geodetic Coordinate System 2000\",DATUM[\"China_2000\",\
            SPHEROID[\"CGCS2000\",6378137,298.257222101,AUTHORITY[\"EPSG\",\"1024\"]],\
            AUTHORITY[\"EPSG\",\"1043\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],\
            UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],\
            AXIS[\"Latitude\",NORTH],AXIS[\"Longitude\",EAST],AUTHORITY[\"EPSG\",\"4490\"]]"
            .into(),
        description: Some("CGCS2000 geographic coordinates in decimal degrees".into()),
    }
}

/// Writes `features` as the only feature table of a new GeoPackage at `path` (replaced if it
/// exists), in one transaction.
pub(crate) fn write(
    path: &Path,
    spec: &LayerSpec,
    features: impl Iterator<Item = Feature>,
) -> anyhow::Result<()> {
    if path.exists() {
        std::fs::remove_file(path).with_context(|| format!("removing old {}", path.display()))?;
    }
    let mut conn = Connection::open(path)?;
    conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")?;
    let tx = conn.transaction()?;
    create_core(&tx).context("creating GeoPackage core tables")?;
    add_srs(&tx, &cgcs2000())?;

    let columns: Vec<String> = spec
        .fields
        .iter()
        .map(|(name, kind)| {
            let ty = match kind {
                FieldKind::Text => "TEXT",
                FieldKind::Int => "INTEGER",
                FieldKind::Real => "REAL",
            };
            format!(", \"{name}\" {ty}")
        })
        .collect();
    tx.execute_batch(&format!(
        "CREATE TABLE \"{}\" (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom {}{});",
        spec.table,
        spec.geometry_type,
        columns.concat()
    ))?;
    let mut extent = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    {
        let names: Vec<String> = spec
            .fields
            .iter()
            .map(|(n, _)| format!(", \"{n}\""))
            .collect();
        let marks: Vec<String> = (0..spec.fields.len())
            .map(|k| format!(", ?{}", k + 2))
            .collect();
        let mut insert = tx.prepare(&format!(
            "INSERT INTO \"{}\" (geom{}) VALUES (?1{})",
            spec.table,
            names.concat(),
            marks.concat()
        ))?;
        let mut blob = Vec::with_capacity(256);
        for feature in features {
            anyhow::ensure!(
                feature.values.len() == spec.fields.len(),
                "layer {}: feature has {} values for {} fields",
                spec.table,
                feature.values.len(),
                spec.fields.len()
            );
            blob.clear();
            let env = encode(&feature.geom, spec.srs_id, &mut blob);
            extent = [
                extent[0].min(env[0]),
                extent[1].min(env[1]),
                extent[2].max(env[2]),
                extent[3].max(env[3]),
            ];
            let values = std::iter::once(&blob as &dyn ToSql).chain(feature.values.iter().map(
                |v| match v {
                    Value::Text(s) => s as &dyn ToSql,
                    Value::Int(i) => i as &dyn ToSql,
                    Value::Real(r) => r as &dyn ToSql,
                },
            ));
            insert.execute(params_from_iter(values))?;
        }
    }
    register_feature_table(
        &tx,
        &FeatureTable {
            table: spec.table,
            identifier: spec.table,
            description: spec.description,
            geometry_type: spec.geometry_type,
            srs_id: spec.srs_id,
            last_change: Some(spec.last_change),
        },
        extent[0].is_finite().then_some(extent),
    )?;
    tx.commit()?;
    Ok(())
}

/// Appends the GeoPackage binary of `geom` to `out` and returns its `[min_x, min_y, max_x,
/// max_y]`.
fn encode(geom: &Geom, srs_id: i32, out: &mut Vec<u8>) -> [f64; 4] {
    let env = match geom {
        Geom::Point(p) => bbox([p]),
        Geom::LineString(l) => bbox(l),
        Geom::Polygon(p) => bbox(&p[0]),
        Geom::MultiPolygon(m) => bbox(m.iter().flat_map(|p| &p[0])),
    };
    geometry_header(out, srs_id, env);
    match geom {
        Geom::Point(p) => {
            wkb_header(out, 1);
            push_pt(out, *p);
        }
        Geom::LineString(l) => {
            wkb_header(out, 2);
            out.extend_from_slice(&(l.len() as u32).to_le_bytes());
            l.iter().for_each(|p| push_pt(out, *p));
        }
        Geom::Polygon(p) => wkb_polygon(out, p),
        Geom::MultiPolygon(m) => {
            wkb_header(out, 6);
            out.extend_from_slice(&(m.len() as u32).to_le_bytes());
            m.iter().for_each(|p| wkb_polygon(out, p));
        }
    }
    env
}

fn wkb_header(out: &mut Vec<u8>, ty: u32) {
    out.push(1);
    out.extend_from_slice(&ty.to_le_bytes());
}

fn push_pt(out: &mut Vec<u8>, p: Pt) {
    out.extend_from_slice(&p[0].to_le_bytes());
    out.extend_from_slice(&p[1].to_le_bytes());
}

/// A polygon with its exterior counter-clockwise, holes clockwise, rings closed.
fn wkb_polygon(out: &mut Vec<u8>, poly: &Polygon) {
    wkb_header(out, 3);
    out.extend_from_slice(&(poly.len() as u32).to_le_bytes());
    for (k, ring) in poly.iter().enumerate() {
        let ring = oriented(ring, k == 0);
        out.extend_from_slice(&(ring.len() as u32 + 1).to_le_bytes());
        ring.iter()
            .chain(ring.first())
            .for_each(|p| push_pt(out, *p));
    }
}
