//! Shared test set-up: each test gets its own freshly migrated database in the PostGIS named by
//! `ONEMAP_TEST_DATABASE_URL` (an admin connection string; `scripts/test` starts a private
//! cluster and sets it), so tests run in parallel and never see each other's data.

#![allow(dead_code)] // each test binary uses its own part of the helpers

pub mod http;
pub mod ingest_checks;
pub mod ledger;
pub mod survey_fixtures;
pub mod zones;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use tokio_postgres::Client;

/// A database created for one test and dropped when the test ends.
pub struct TestDb {
    pub name: String,
    pub url: String,
    admin_url: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);
static SWEPT: AtomicBool = AtomicBool::new(false);

/// Drops the databases that earlier test processes left behind (their process is gone).
async fn sweep_leftovers(admin: &Client) {
    if SWEPT.swap(true, Ordering::SeqCst) {
        return;
    }
    let rows = admin
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'onemap\\_test\\_%'",
            &[],
        )
        .await
        .unwrap();
    for row in rows {
        let name: String = row.get(0);
        let pid = name.split('_').nth(2).unwrap_or_default();
        if !std::path::Path::new("/proc").join(pid).exists() {
            let _ = admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
        }
    }
}

impl TestDb {
    /// Creates and migrates a new database.
    pub async fn new() -> Self {
        let admin_url = std::env::var("ONEMAP_TEST_DATABASE_URL").expect(
            "ONEMAP_TEST_DATABASE_URL is not set: run the tests through scripts/test, \
             or point it at a PostgreSQL 15 + PostGIS 3 admin connection string",
        );
        let name = format!(
            "onemap_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let admin = onemap_schemas::database::connect(&admin_url).await.unwrap();
        sweep_leftovers(&admin).await;
        // The name is generated above from digits and underscores only.
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let url = with_dbname(&admin_url, &name);
        let mut client = onemap_schemas::database::connect(&url).await.unwrap();
        onemap_schemas::migrate::migrate(&mut client).await.unwrap();
        Self {
            name,
            url,
            admin_url,
        }
    }

    /// A new connection to this test's database.
    pub async fn client(&self) -> Client {
        onemap_schemas::database::connect(&self.url).await.unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Dropped in the background and not awaited: a connection the test's runtime abandoned
        // mid-handshake holds DROP DATABASE until the server's authentication timeout. What a
        // finished process leaves behind, the next test run sweeps.
        std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(admin) = onemap_schemas::database::connect(&admin_url).await {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        });
    }
}

/// A fresh scratch folder `onemap-<what>-<pid>-<nanos>` in the system's temporary folder.
pub fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "onemap-{what}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Replaces (or adds) `dbname=` in a key-value connection string, or the path of a URL.
pub fn with_dbname(url: &str, name: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let (base, query) = url
            .split_once('?')
            .map_or((url, None), |(b, q)| (b, Some(q)));
        let scheme_end = base.find("://").unwrap() + 3;
        let host_end = base[scheme_end..]
            .find('/')
            .map_or(base.len(), |i| scheme_end + i);
        let mut out = format!("{}/{name}", &base[..host_end]);
        if let Some(q) = query {
            out.push('?');
            out.push_str(q);
        }
        out
    } else {
        let mut parts: Vec<String> = url
            .split_whitespace()
            .filter(|p| !p.starts_with("dbname="))
            .map(str::to_owned)
            .collect();
        parts.push(format!("dbname={name}"));
        parts.join(" ")
    }
}

/// A file under `tests/fixtures/`.
pub fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path)
}
