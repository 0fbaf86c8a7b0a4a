//! A minimal GeoPackage 1.2 writer: one feature table per file, geometries as GeoPackage
//! binary (standard header with an XY envelope, then little-endian ISO WKB).

use std::path::Path;

use anyhow::Context;
use rusqlite::{params_from_iter, Connection, ToSql};

use super::geom::{bbox, oriented, Polygon, Pt};
use super::{Feature, FieldKind, Geom, LayerSpec, Value};

/// Core tables and the spatial reference systems rows (-1, 0, 4326 and CGCS2000 4490).
const GPKG_CORE: &str = include_str!("gpkg_core.sql");

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
    tx.execute_batch(GPKG_CORE)
        .context("creating GeoPackage core tables")?;

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
    tx.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, srs_id)
         VALUES (?1, 'features', ?1, ?2, ?3, ?4)",
        (spec.table, spec.description, spec.last_change, spec.srs_id),
    )?;
    tx.execute(
        "INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m)
         VALUES (?1, 'geom', ?2, ?3, 0, 0)",
        (spec.table, spec.geometry_type, spec.srs_id),
    )?;

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
    if extent[0].is_finite() {
        tx.execute(
            "UPDATE gpkg_contents SET min_x = ?1, min_y = ?2, max_x = ?3, max_y = ?4 WHERE table_name = ?5",
            (extent[0], extent[1], extent[2], extent[3], spec.table),
        )?;
    }
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
    out.extend_from_slice(b"GP");
    out.push(0); // binary format version 1 is written as 0
    out.push(0b0000_0011); // little endian, envelope [minx, maxx, miny, maxy]
    out.extend_from_slice(&srs_id.to_le_bytes());
    for v in [env[0], env[2], env[1], env[3]] {
        out.extend_from_slice(&v.to_le_bytes());
    }
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
