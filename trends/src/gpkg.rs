//! OGC GeoPackage 1.3 files written with SQLite directly, and the change parcels as one.
//!
//! The writing pieces serve every GeoPackage Onemap writes (the change-parcel export here, the
//! demo's layers in `onemap demo`): [`create_core`] (the three required tables
//! `gpkg_spatial_ref_sys`, `gpkg_contents`, `gpkg_geometry_columns` and the required SRS rows),
//! [`add_srs`], [`register_feature_table`], and the GeoPackage binary geometry header
//! ([`geometry_header`]: `GP`, the SRS id and the envelope, before the ISO WKB).
//!
//! [`write_changes`] writes the change parcels: one feature table `changes`, MultiPolygons in
//! the to-survey's own CRS, their WKB from PostGIS.

use std::path::Path;

use rusqlite::{params, Connection};
use tokio_postgres::Client;

use crate::query::ChangeParcels;
use crate::{TrendsError, TrendsResult};

/// A coordinate reference system as GeoPackage records it.
#[derive(Debug, Clone, PartialEq)]
pub struct GpkgSrs {
    pub srs_id: i32,
    pub name: String,
    pub organization: String,
    pub organization_coordsys_id: i32,
    /// OGC WKT.
    pub definition: String,
    /// `gpkg_spatial_ref_sys.description`.
    pub description: Option<String>,
}

impl GpkgSrs {
    /// The SRID's definition from PostGIS's `spatial_ref_sys`.
    pub async fn from_postgis(client: &Client, srid: i32) -> TrendsResult<Self> {
        let row = client
            .query_opt(include_str!("sql/srs.sql"), &[&srid])
            .await
            .map_err(TrendsError::pg("reading the spatial reference system"))?
            .ok_or_else(|| TrendsError::Export(format!("PostGIS does not know SRID {srid}")))?;
        let definition: String = row.get("srtext");
        // The WKT's first quoted string is the system's name.
        let name = definition
            .split('"')
            .nth(1)
            .map_or_else(|| format!("EPSG:{srid}"), str::to_owned);
        Ok(Self {
            srs_id: srid,
            name,
            organization: row
                .get::<_, Option<String>>("auth_name")
                .unwrap_or_else(|| "EPSG".into()),
            organization_coordsys_id: row.get::<_, Option<i32>>("auth_srid").unwrap_or(srid),
            definition,
            description: None,
        })
    }
}

/// Makes `db` (a new, empty SQLite database) a GeoPackage 1.3: its application id and
/// version, the three required tables and the required SRS rows (-1, 0 and EPSG:4326).
pub fn create_core(db: &Connection) -> rusqlite::Result<()> {
    db.execute_batch(include_str!("sql/gpkg_schema.sql"))
}

/// Records `srs` in `gpkg_spatial_ref_sys`, replacing a row of the same id.
pub fn add_srs(db: &Connection, srs: &GpkgSrs) -> rusqlite::Result<()> {
    db.execute(
        include_str!("sql/gpkg_srs.sql"),
        params![
            srs.name,
            srs.srs_id,
            srs.organization,
            srs.organization_coordsys_id,
            srs.definition,
            srs.description
        ],
    )
    .map(drop)
}

/// A feature table of a GeoPackage, as `gpkg_contents` and `gpkg_geometry_columns` record it
/// (its geometry column is `geom`, 2-D).
#[derive(Debug, Clone, Copy)]
pub struct FeatureTable<'a> {
    pub table: &'a str,
    pub identifier: &'a str,
    pub description: &'a str,
    /// POINT, LINESTRING, POLYGON, MULTIPOLYGON, ...
    pub geometry_type: &'a str,
    pub srs_id: i32,
    /// `gpkg_contents.last_change` (`None`: now).
    pub last_change: Option<&'a str>,
}

/// Registers `table` (already created, with its rows) in `gpkg_contents`, with its extent
/// `[min_x, min_y, max_x, max_y]` (`None`: unknown, e.g. no rows), and in
/// `gpkg_geometry_columns`.
pub fn register_feature_table(
    db: &Connection,
    table: &FeatureTable<'_>,
    extent: Option<[f64; 4]>,
) -> rusqlite::Result<()> {
    let [min_x, min_y, max_x, max_y] = extent.map_or([None; 4], |e| e.map(Some));
    db.execute(
        include_str!("sql/gpkg_feature_table.sql"),
        params![
            table.table,
            table.identifier,
            table.description,
            table.last_change,
            min_x,
            min_y,
            max_x,
            max_y,
            table.srs_id
        ],
    )?;
    db.execute(
        include_str!("sql/gpkg_geometry_column.sql"),
        params![table.table, table.geometry_type, table.srs_id],
    )
    .map(drop)
}

fn sqlite(e: rusqlite::Error) -> TrendsError {
    TrendsError::Export(format!("writing the GeoPackage: {e}"))
}

/// Appends the header of a GeoPackage binary geometry to `out`: `GP`, version 0 (binary
/// format version 1), flags (little-endian, an `[min_x, max_x, min_y, max_y]` envelope), the
/// SRS id and the envelope of `bounds` (`[min_x, min_y, max_x, max_y]`). The little-endian
/// WKB follows.
pub fn geometry_header(out: &mut Vec<u8>, srs_id: i32, bounds: [f64; 4]) {
    let [min_x, min_y, max_x, max_y] = bounds;
    out.extend_from_slice(b"GP");
    out.push(0);
    out.push(0b0000_0011);
    out.extend_from_slice(&srs_id.to_le_bytes());
    for v in [min_x, max_x, min_y, max_y] {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// The GeoPackage binary geometry of `wkb`: [`geometry_header`], then the WKB.
pub fn geometry_blob(srs_id: i32, bounds: [f64; 4], wkb: &[u8]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(8 + 32 + wkb.len());
    geometry_header(&mut blob, srs_id, bounds);
    blob.extend_from_slice(wkb);
    blob
}

/// Writes `changes` (fetched with WKB, in `srs`) to a new GeoPackage at `path` (an existing
/// file is replaced). `title` names the table in `gpkg_contents`.
pub fn write_changes(
    path: &Path,
    changes: &ChangeParcels,
    srs: &GpkgSrs,
    title: &str,
) -> TrendsResult<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(TrendsError::Export(format!(
                "replacing {}: {e}",
                path.display()
            )));
        }
    }
    let mut db = Connection::open(path).map_err(sqlite)?;
    create_core(&db).map_err(sqlite)?;
    let tx = db.transaction().map_err(sqlite)?;
    tx.execute_batch(include_str!("sql/gpkg_changes.sql"))
        .map_err(sqlite)?;
    add_srs(&tx, srs).map_err(sqlite)?;
    let mut extent: Option<[f64; 4]> = None;
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO changes (geom, from_year, to_year, from_class, to_class, area_m2, \
                 from_fid, to_fid, zone, zone_kind, village_code, village, station, station_code) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )
            .map_err(sqlite)?;
        for p in &changes.parcels {
            let wkb = p.wkb.as_deref().ok_or_else(|| {
                TrendsError::Export("the change parcels were read without geometry".into())
            })?;
            let b = p.bounds;
            extent = Some(match extent {
                None => b,
                Some(e) => [
                    e[0].min(b[0]),
                    e[1].min(b[1]),
                    e[2].max(b[2]),
                    e[3].max(b[3]),
                ],
            });
            insert
                .execute(params![
                    geometry_blob(srs.srs_id, b, wkb),
                    changes.from,
                    changes.to,
                    p.from_class,
                    p.to_class,
                    p.area_m2,
                    p.from_fid,
                    p.to_fid,
                    p.zone,
                    p.zone_kind,
                    p.village_code,
                    p.village_name,
                    p.station,
                    p.station_code,
                ])
                .map_err(sqlite)?;
        }
    }
    let description = format!(
        "Land whose class changed between the {} and {} surveys",
        changes.from, changes.to
    );
    register_feature_table(
        &tx,
        &FeatureTable {
            table: "changes",
            identifier: title,
            description: &description,
            geometry_type: "MULTIPOLYGON",
            srs_id: srs.srs_id,
            last_change: None,
        },
        extent,
    )
    .map_err(sqlite)?;
    tx.commit().map_err(sqlite)?;
    Ok(())
}

/// [`write_changes`] into memory: the bytes of the GeoPackage (written to a scratch file).
pub fn changes_bytes(changes: &ChangeParcels, srs: &GpkgSrs, title: &str) -> TrendsResult<Vec<u8>> {
    let dir = std::env::temp_dir().join(format!(
        "onemap-gpkg-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir)
        .map_err(|e| TrendsError::Export(format!("creating {}: {e}", dir.display())))?;
    let path = dir.join("changes.gpkg");
    let result = write_changes(&path, changes, srs, title).and_then(|()| {
        std::fs::read(&path)
            .map_err(|e| TrendsError::Export(format!("reading {}: {e}", path.display())))
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}
