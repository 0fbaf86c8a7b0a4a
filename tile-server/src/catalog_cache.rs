//! The catalog kept in memory, so that a tile request costs no catalog query. It is reloaded
//! when the database notifies `onemap_catalog` (a trigger fires on every layer or version
//! change, delivered at commit), and at least once a minute in case a notification was missed.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use martin_core::tiles::postgres::PostgresPool;
use onemap_schemas::catalog::Catalog;
use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::error::ServerResult;

const SAFETY_RELOAD: Duration = Duration::from_secs(60);

/// A shared, self-refreshing snapshot of the catalog.
#[derive(Clone)]
pub struct CatalogCache {
    current: Arc<RwLock<Arc<Catalog>>>,
    pool: PostgresPool,
    changed: Arc<Notify>,
    /// Tells followers (the tile warm-up) that a new snapshot is in place.
    reloaded: Arc<tokio::sync::watch::Sender<Arc<Catalog>>>,
}

impl CatalogCache {
    /// Loads the catalog and spawns the listener that keeps it fresh.
    pub async fn start(database_url: &str, pool: PostgresPool) -> ServerResult<Self> {
        let cache = Self {
            current: Arc::new(RwLock::new(Arc::new(Catalog::default()))),
            pool,
            changed: Arc::new(Notify::new()),
            reloaded: Arc::new(tokio::sync::watch::Sender::new(
                Arc::new(Catalog::default()),
            )),
        };
        cache.reload().await?;
        tokio::spawn(listen(database_url.to_owned(), cache.changed.clone()));
        tokio::spawn(refresh(cache.clone()));
        Ok(cache)
    }

    /// The newest snapshot.
    pub fn get(&self) -> Arc<Catalog> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Reads the catalog again now.
    pub async fn reload(&self) -> ServerResult<()> {
        let conn = self.pool.get().await?;
        let fresh = Arc::new(Catalog::load(&**conn).await?);
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh.clone();
        self.reloaded.send_replace(fresh);
        Ok(())
    }

    /// A receiver that sees every new snapshot.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<Arc<Catalog>> {
        self.reloaded.subscribe()
    }
}

async fn refresh(cache: CatalogCache) {
    loop {
        let _ = tokio::time::timeout(SAFETY_RELOAD, cache.changed.notified()).await;
        if let Err(e) = cache.reload().await {
            tracing::warn!(error = %e, "catalog reload failed; keeping the previous one");
        }
    }
}

/// Holds a LISTEN connection open, reconnecting after failures, and signals each notification.
async fn listen(url: String, changed: Arc<Notify>) {
    loop {
        match tokio_postgres::connect(&url, NoTls).await {
            Ok((client, mut connection)) => {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                // The connection must be polled for LISTEN to complete and for messages to arrive.
                tokio::spawn(async move {
                    let mut messages =
                        futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(msg) = messages.next().await {
                        match msg {
                            Ok(AsyncMessage::Notification(_)) => {
                                let _ = tx.send(());
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "catalog listener lost its connection");
                                break;
                            }
                        }
                    }
                });
                if client.batch_execute("LISTEN onemap_catalog").await.is_ok() {
                    // A change may have happened while we were connecting.
                    changed.notify_one();
                    while rx.recv().await.is_some() {
                        changed.notify_one();
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "catalog listener cannot connect"),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
