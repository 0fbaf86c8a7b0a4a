//! Set-up and checks the ingest tests share (ingest_parallel, ingest_faults, ingest_worker_role):
//! scratch folders, a generated large GeoJSON, a checksum of a version's stored rows, the
//! unattached staging tables, and a server configuration.

use std::path::{Path, PathBuf};

use onemap_jobs::ExecutionOutcome;
use onemap_tile_server::ServerConfig;
use tokio_postgres::types::{FromSqlOwned, ToSql};
use tokio_postgres::Client;

use super::TestDb;

/// A scratch folder, removed when dropped (also when the test fails).
pub struct Scratch(pub PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh scratch folder `onemap-<what>-<pid>-<nanos>`, removed when dropped.
pub fn scratch(what: &str) -> Scratch {
    Scratch(super::temp_dir(what))
}

/// Writes `large_parcels_2025.geojson` into `dir`: `n` small square parcels near Shandan with
/// properties `n` and `name`, and `DLBM` when `class` is given.
pub fn large_geojson(dir: &Path, n: usize, class: Option<&str>) -> PathBuf {
    let path = dir.join("large_parcels_2025.geojson");
    let extra = class.map_or_else(String::new, |c| format!(r#","DLBM":"{c}""#));
    let mut text = String::with_capacity(n * 230);
    text.push_str(r#"{"type":"FeatureCollection","features":["#);
    for i in 0..n {
        let x = 100.8 + (i % 1000) as f64 * 0.0005;
        let y = 38.5 + (i / 1000) as f64 * 0.0005;
        let d = 0.0004;
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!(
            r#"{{"type":"Feature","properties":{{"n":{i},"name":"parcel {i}"{extra}}},"geometry":{{"type":"Polygon","coordinates":[[[{x},{y}],[{x2},{y}],[{x2},{y2}],[{x},{y2}],[{x},{y}]]]}}}}"#,
            x2 = x + d,
            y2 = y + d
        ));
    }
    text.push_str("]}");
    std::fs::write(&path, text).unwrap();
    path
}

/// Rows of one version and a checksum over every stored column, the derived ones included.
pub async fn stored_rows(client: &Client, version_id: i64) -> (i64, String) {
    let row = client
        .query_one(
            "SELECT count(*), coalesce(md5(string_agg(
                    fid::text || '|' || props::text || '|' || ST_AsEWKB(geom)::text || '|'
                    || coalesce(ST_AsEWKB(geom_3857)::text, 'null') || '|'
                    || coalesce(area_m2::text, 'null'), ',' ORDER BY fid)), '')
             FROM onemap.features WHERE version_id = $1",
            &[&version_id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// The first column of every row `sql` returns.
pub async fn first_column<T: FromSqlOwned>(
    client: &Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Vec<T> {
    client
        .query(sql, params)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Unattached `features_v*` tables: staging tables of parallel loads.
pub async fn staging_tables(client: &Client) -> Vec<String> {
    first_column(
        client,
        "SELECT c.relname::text FROM pg_class c
         WHERE c.relnamespace = 'onemap'::regnamespace AND c.relkind = 'r'
           AND NOT c.relispartition AND c.relname ~ '^features_v[0-9]+$'
         ORDER BY 1",
        &[],
    )
    .await
}

/// The server configuration the tests use: this test's database, the repository's viewer,
/// four connections and a tile cache of `tile_cache_mb`.
pub fn server_config(db: &TestDb, tile_cache_mb: u64) -> ServerConfig {
    ServerConfig {
        database_url: db.url.clone(),
        viewer_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../viewer"),
        pool_size: 4,
        tile_cache_mb,
    }
}

/// Whether every connection of an ingest (`onemap ingest…` application names) has gone.
pub async fn ingest_connections_gone(client: &Client) -> bool {
    client
        .query_one(
            "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity
             WHERE datname = current_database() AND application_name LIKE 'onemap ingest%')",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// What running job `id` to success reports.
pub fn succeeded(id: i64) -> ExecutionOutcome {
    ExecutionOutcome::TaskCompleted {
        id,
        succeeded: true,
        error: None,
    }
}
