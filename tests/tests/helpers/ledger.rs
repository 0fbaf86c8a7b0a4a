//! The rectification ledger's test set-up, shared by tests/tests/ledger.rs and
//! tests/tests/ledger_reports.rs: the zoning and survey fixtures (tests/fixtures/trends/, the
//! land use as `dltb`), fixture cells in longitude and latitude, and
//! [`ledger_world`]: a clue batch imported, users with tokens and a server to send requests
//! to (with [`super::http`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use axum::Router;
use onemap_access::{tokens, users, Acting, Role};
use onemap_tile_server::{app, AppState, ServerConfig, UploadConfig};
use tokio_postgres::Client;

use super::{temp_dir, TestDb};

/// The zoning and survey fixtures, with the land use as `dltb`, precomputed.
pub async fn load(db: &TestDb) -> Client {
    super::survey_fixtures::load_zoning_and_surveys(db, "dltb").await
}

/// Lon/lat (WGS 84) of the fixture cell coordinate (x, y) (cells of 100 m from E 499 700,
/// N 4 290 000 in EPSG:4543).
pub async fn lonlat(client: &Client, x: f64, y: f64) -> [f64; 2] {
    lonlat_in(client, x, y, 4326).await
}

/// [`lonlat`] in the geographic CRS `srid` (4326, or 4490 for CGCS2000).
pub async fn lonlat_in(client: &Client, x: f64, y: f64, srid: i32) -> [f64; 2] {
    let row = client
        .query_one(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), \
             4543), $3::int) AS p) s",
            &[&(499_700.0 + 100.0 * x), &(4_290_000.0 + 100.0 * y), &srid],
        )
        .await
        .unwrap();
    [row.get(0), row.get(1)]
}

/// A database with the fixtures and an imported clue batch, users, and a server on it.
pub struct LedgerWorld {
    pub db: TestDb,
    pub client: Client,
    pub app: Router,
    /// The database id of each clue, by clue id.
    pub ids: HashMap<String, i64>,
    /// The bearer token of each user, by name.
    pub tokens: HashMap<String, String>,
    /// The scratch folder (the batch file; the photo uploads under `uploads/`), removed when
    /// the world is dropped.
    pub dir: PathBuf,
}

impl Drop for LedgerWorld {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh database with the fixtures ([`load`]), where `import_batch` writes and imports a
/// clue batch in the scratch folder it is given; then `users` (name, department, role) with
/// a token each, and the server's router, with photo uploads of up to `upload_bytes` stored
/// under `dir/uploads` when given.
pub async fn ledger_world(
    scratch: &str,
    import_batch: impl AsyncFnOnce(&mut Client, &Path),
    users_: &[(&str, &str, Role)],
    upload_bytes: Option<u64>,
) -> LedgerWorld {
    let db = TestDb::new().await;
    let mut client = load(&db).await;
    let dir = temp_dir(scratch);
    import_batch(&mut client, &dir).await;
    let operator = Acting::operator("test");
    let mut tokens_ = HashMap::new();
    for (name, department, role) in users_ {
        users::add(&mut client, &operator, name, department, *role, None)
            .await
            .unwrap();
        let (_, token) = tokens::create(&mut client, &operator, name, "test")
            .await
            .unwrap();
        tokens_.insert(name.to_string(), token);
    }
    let ids = client
        .query("SELECT clue_id, id FROM onemap.clues", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let config = ServerConfig {
        database_url: db.url.clone(),
        viewer_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../viewer"),
        pool_size: 4,
        tile_cache_mb: 0,
    };
    let mut state = AppState::new(&config).await.unwrap();
    if let Some(max_bytes) = upload_bytes {
        state = state.with_uploads(UploadConfig {
            dir: dir.join("uploads"),
            max_bytes,
        });
    }
    LedgerWorld {
        db,
        client,
        app: app(state),
        ids,
        tokens: tokens_,
        dir,
    }
}
