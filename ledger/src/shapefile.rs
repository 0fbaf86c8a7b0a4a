//! Clue batches delivered as a Shapefile: a `.shp` with its `.dbf`, `.prj` and `.cpg`, or a
//! `.zip` holding one. The records are read by the ingest crate's Shapefile reader
//! ([`onemap_ingest::read_shapefile`]), so the text encoding is chosen as for a layer (the
//! `.cpg`, the DBF language driver, else detection: GBK feeds work), and the `.prj` is
//! identified as for a layer ([`onemap_ingest::identify_wkt`]: ESRI Gauss-Krüger names
//! included). Geometries in a projected CRS are transformed to lon/lat (EPSG:4490) in
//! PostGIS. Rows are numbered by the shapefile's record number (from 1), as GIS tools number
//! features. A shapefile without a `.prj` is refused: its coordinates are never guessed.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use tokio_postgres::Client;

use crate::import::{check_geometry, RawRow};
use crate::{LedgerError, LedgerResult};

/// At most this many bytes inflated from a zipped batch (clue batches are small).
const MAX_ZIP_BYTES: u64 = 256 << 20;

/// The files of a shapefile, by extension.
const PARTS: &[&str] = &["shp", "shx", "dbf", "prj", "cpg"];

/// The raw rows of the shapefile at `path`; errors name `shown` (the archive and entry for a
/// zipped one) or else `path`.
pub(crate) async fn rows(
    client: &Client,
    path: &Path,
    shown: Option<&Path>,
) -> LedgerResult<Vec<RawRow>> {
    let name = shown.unwrap_or(path);
    let file_error = |message: String| LedgerError::File {
        path: name.display().to_string(),
        message,
    };
    let to_read = path.to_owned();
    let table = tokio::task::spawn_blocking(move || onemap_ingest::read_shapefile(&to_read, None))
        .await
        .map_err(|e| file_error(format!("the reader task failed: {e}")))?
        .map_err(|e| {
            // The ingest error names the extracted file; name the archive's entry instead.
            let text = e.to_string();
            let text = match shown {
                Some(s) => text.replace(&path.display().to_string(), &s.display().to_string()),
                None => text,
            };
            file_error(text)
        })?;
    let wkt = table.prj.ok_or_else(|| {
        file_error(
            "the shapefile has no .prj file, so its coordinate reference system is unknown".into(),
        )
    })?;
    let (srid, _how) = onemap_ingest::identify_wkt(client, &wkt)
        .await
        .map_err(|e| file_error(format!("the .prj: {e}")))?;

    let shapes: Vec<String> = table
        .records
        .iter()
        .filter_map(|r| match &r.geometry {
            Ok(Some(g)) => Some(g.to_string()),
            _ => None,
        })
        .collect();
    let mut lonlat = if matches!(srid, 4326 | 4490) || shapes.is_empty() {
        None
    } else {
        let rows = client
            .query(include_str!("sql/shapefile_lonlat.sql"), &[&shapes, &srid])
            .await
            .map_err(LedgerError::pg("transforming the shapefile's geometries"))?;
        Some(rows.into_iter().map(|r| r.get::<_, String>(0)))
    };

    let mut raw = Vec::with_capacity(table.records.len());
    for record in table.records {
        let row = usize::try_from(record.number).unwrap_or(usize::MAX);
        let geometry = match record.geometry {
            Ok(Some(g)) => match lonlat.as_mut() {
                None => Ok(g),
                Some(it) => serde_json::from_str(&it.next().unwrap_or_default())
                    .map_err(|e| format!("the transformed geometry is not GeoJSON: {e}")),
            }
            .and_then(|g| {
                check_geometry(&g)
                    .map(|()| g)
                    .map_err(|e| format!("{e} (EPSG:{srid} in the .prj)"))
            }),
            Ok(None) => Err("no geometry (a Null shape)".to_owned()),
            Err(e) => Err(format!("the shape cannot be read: {e}")),
        };
        match record.properties {
            Ok(props) => raw.push((row, props, geometry)),
            Err(e) => raw.push((row, Map::<String, Value>::new(), Err(e))),
        }
    }
    Ok(raw)
}

/// The raw rows of the one shapefile inside the zip archive at `path`. Only the shapefile's
/// own files are extracted, into a private temporary folder removed afterwards; entry names
/// that would leave it are refused, and so are archives inflating past [`MAX_ZIP_BYTES`].
pub(crate) async fn zipped_rows(client: &Client, path: &Path) -> LedgerResult<Vec<RawRow>> {
    let file_error = |message: String| LedgerError::File {
        path: path.display().to_string(),
        message,
    };
    let dir = tempfile::Builder::new()
        .prefix("onemap-clues-")
        .tempdir()
        .map_err(|e| file_error(format!("cannot make a temporary folder: {e}")))?;
    let shp = extract(path, dir.path()).map_err(file_error)?;
    let shown = path.join(&shp);
    let result = rows(client, &dir.path().join(&shp), Some(&shown)).await;
    drop(dir);
    result
}

/// Extracts the shapefile parts of the archive into `dir`; returns the `.shp`'s path inside
/// the archive.
fn extract(archive: &Path, dir: &Path) -> Result<PathBuf, String> {
    let file = std::fs::File::open(archive).map_err(|e| e.to_string())?;
    let mut zip =
        zip::ZipArchive::new(file).map_err(|e| format!("not a readable zip archive: {e}"))?;
    let mut entries = Vec::new();
    for i in 0..zip.len() {
        let entry = zip
            .by_index(i)
            .map_err(|e| format!("entry {}: {e}", i + 1))?;
        if entry.is_dir() {
            continue;
        }
        let Some(rel) = entry.enclosed_name() else {
            return Err(format!(
                "entry {:?} would be written outside the archive's folder",
                entry.name()
            ));
        };
        let hidden = rel.components().any(|c| {
            let s = c.as_os_str().to_string_lossy();
            s.starts_with('.') || s == "__MACOSX"
        });
        let ext = rel
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if !hidden && PARTS.contains(&ext.as_str()) {
            entries.push((i, rel, ext));
        }
    }
    let shps: Vec<&PathBuf> = entries
        .iter()
        .filter(|(_, _, ext)| ext == "shp")
        .map(|(_, rel, _)| rel)
        .collect();
    let shp = match shps.as_slice() {
        [one] => (*one).clone(),
        [] => return Err("the archive holds no shapefile (.shp)".into()),
        many => {
            return Err(format!(
                "the archive holds {} shapefiles ({}); a clue batch is one",
                many.len(),
                many.iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    };
    let same_set = |rel: &Path| rel.parent() == shp.parent() && rel.file_stem() == shp.file_stem();
    let mut total = 0u64;
    for (i, rel, _) in entries.iter().filter(|(_, rel, _)| same_set(rel)) {
        let mut entry = zip
            .by_index(*i)
            .map_err(|e| format!("entry {}: {e}", i + 1))?;
        let target = dir.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let mut out = std::fs::File::create(&target).map_err(|e| e.to_string())?;
        let budget = MAX_ZIP_BYTES - total;
        total += std::io::copy(&mut (&mut entry).take(budget + 1), &mut out)
            .map_err(|e| format!("entry {:?}: {e}", rel.display()))?;
        if total > MAX_ZIP_BYTES {
            return Err(format!(
                "the shapefile inflates to more than {} MiB",
                MAX_ZIP_BYTES >> 20
            ));
        }
    }
    Ok(shp)
}
