//! MBTiles 1.3: an SQLite file with a `metadata` table (name, format `pbf`, bounds, center,
//! zooms, and `json` with the vector layers) and a `tiles` table in TMS row order, tiles
//! gzip-compressed as the specification asks for vector tiles.

use std::path::Path;

use rusqlite::{params, Connection};

use super::{ExportResult, PackageInfo};

/// Writes tiles into a new MBTiles file, in one transaction.
pub struct MbtilesWriter {
    conn: Connection,
}

impl MbtilesWriter {
    /// Creates `path` (replacing a file already there) with empty tables.
    pub fn create(path: &Path) -> ExportResult<Self> {
        if path.exists() {
            std::fs::remove_file(path)?;
        }
        let conn = Connection::open(path)?;
        conn.execute_batch(include_str!("mbtiles_schema.sql"))?;
        Ok(Self { conn })
    }

    /// Adds the gzip-compressed tile `z/x/y` (XYZ; stored with its TMS row).
    pub fn put(&mut self, z: u8, x: u32, y: u32, gzip_tile: &[u8]) -> ExportResult<()> {
        let row = (1u32 << z) - 1 - y;
        self.conn
            .prepare_cached(
                "INSERT INTO tiles (zoom_level, tile_column, tile_row, tile_data) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![z, x, row, gzip_tile])?;
        Ok(())
    }

    /// Writes the metadata, commits and closes; returns the file's size in bytes.
    pub fn finish(self, path: &Path, info: &PackageInfo) -> ExportResult<u64> {
        let [w, s, e, n] = info.bounds;
        let rows = [
            ("name", info.name.clone()),
            ("description", info.description.clone()),
            ("attribution", info.attribution.clone()),
            ("format", "pbf".to_owned()),
            ("type", "overlay".to_owned()),
            ("version", "1".to_owned()),
            ("bounds", format!("{w},{s},{e},{n}")),
            (
                "center",
                format!(
                    "{},{},{}",
                    f64::midpoint(w, e),
                    f64::midpoint(s, n),
                    info.center_zoom()
                ),
            ),
            ("minzoom", info.minzoom.to_string()),
            ("maxzoom", info.maxzoom.to_string()),
            ("json", serde_json::to_string(&info.metadata_json())?),
        ];
        {
            let mut insert = self
                .conn
                .prepare("INSERT INTO metadata (name, value) VALUES (?1, ?2)")?;
            for (name, value) in rows {
                insert.execute(params![name, value])?;
            }
        }
        self.conn.execute_batch("COMMIT; VACUUM;")?;
        self.conn.close().map_err(|(_, e)| e)?;
        Ok(std::fs::metadata(path)?.len())
    }
}
