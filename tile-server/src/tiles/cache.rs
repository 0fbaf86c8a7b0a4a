//! The in-memory tile cache (issue 8, item 2): always right because it is keyed by layer
//! *version*. Versions are immutable and a publication creates a new one, which the catalog
//! (reloaded on NOTIFY) resolves requests to at once, so no entry ever needs invalidating:
//! entries of superseded versions are simply no longer asked for and age out (idle time and the
//! byte bound). The cache sits behind authorization: a request reaches it only with versions
//! the catalog has already let the caller see.
//!
//! Tiles are stored gzip-compressed, compressed once when built; clients that accept gzip get
//! the stored bytes as they are.
//!
//! Behind the memory tier an optional on-disk tier (`disk_cache.rs`, `--tile-cache-dir`)
//! keeps every tile built from the database, so tiles evicted from memory, or lost with a
//! restart, come back without a query. Its folders of superseded versions are removed when the
//! catalog changes ([`TileCache::forget_superseded`]). All the cache's settings are in
//! [`TileCacheConfig`].

use std::collections::{HashMap, HashSet};
use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use moka::future::Cache;
use onemap_schemas::authz::Principal;
use onemap_schemas::catalog::Catalog;
use sha2::{Digest, Sha256};

use super::disk_cache::DiskTier;
pub use super::disk_cache::DiskTierStats;
use crate::error::{ServerError, ServerResult};

/// Entries not read for this long leave the cache.
const TIME_TO_IDLE: Duration = Duration::from_secs(60 * 60);
/// Weight of an entry besides its tile bytes, ETag and key: the cache's own bookkeeping per
/// entry (hash table slot, access-order and write-order nodes, `Arc` counts, timestamps).
const ENTRY_OVERHEAD: usize = 256;

/// What a tile is: the versions of its layers (one for a layer, several for a composite
/// request, in request order) and its coordinates.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TileKey {
    pub versions: Vec<i64>,
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

/// A tile as served: its MVT bytes gzip-compressed, and its entity tag.
#[derive(Debug)]
pub struct CachedTile {
    /// The gzip-compressed MVT (empty for an empty tile).
    pub gzip: Bytes,
    /// Length of the uncompressed MVT.
    pub raw_len: usize,
    /// Weak entity tag: the versions, the coordinates and a hash of the content.
    pub etag: String,
}

impl CachedTile {
    /// Compresses `raw` and tags it.
    pub fn new(key: &TileKey, raw: &[u8]) -> ServerResult<Self> {
        let gzip = if raw.is_empty() {
            Bytes::new()
        } else {
            Bytes::from(gzip(raw)?)
        };
        let hash = Sha256::digest(raw);
        let versions: Vec<String> = key.versions.iter().map(i64::to_string).collect();
        let etag = format!(
            "W/\"v{}-{}-{}-{}-{}\"",
            versions.join("."),
            key.z,
            key.x,
            key.y,
            hex::encode(&hash[..8])
        );
        Ok(Self {
            gzip,
            raw_len: raw.len(),
            etag,
        })
    }

    /// The uncompressed MVT.
    pub fn raw(&self) -> ServerResult<Vec<u8>> {
        if self.gzip.is_empty() {
            return Ok(Vec::new());
        }
        let mut raw = Vec::with_capacity(self.raw_len);
        GzDecoder::new(&self.gzip[..])
            .read_to_end(&mut raw)
            .map_err(|e| ServerError::Tile(format!("decompressing a cached tile: {e}")))?;
        Ok(raw)
    }

    /// Bytes this tile and `key` hold in memory as a cache entry: the gzip bytes, the ETag,
    /// the key's version list, both structs and the cache's per-entry bookkeeping. Only the
    /// gzip copy is kept; the identity encoding is decompressed per request and dropped.
    pub fn weight(&self, key: &TileKey) -> usize {
        self.gzip.len()
            + self.etag.capacity()
            + key.versions.capacity() * std::mem::size_of::<i64>()
            + std::mem::size_of::<CachedTile>()
            + std::mem::size_of::<TileKey>()
            + ENTRY_OVERHEAD
    }
}

/// `raw` gzip-compressed, in a buffer of exactly its length: `Bytes::from(Vec)` keeps the
/// whole allocation alive, and a buffer guessed at half the raw size (or grown by doubling)
/// would hold up to twice what the cache weighs.
fn gzip(raw: &[u8]) -> ServerResult<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(raw.len() / 2), Compression::fast());
    let mut gzip = encoder
        .write_all(raw)
        .and_then(|()| encoder.finish())
        .map_err(|e| ServerError::Tile(format!("compressing a tile: {e}")))?;
    gzip.shrink_to_fit();
    Ok(gzip)
}

/// Every setting of the tile cache, in one place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TileCacheConfig {
    /// MiB of gzip-compressed tiles kept in memory; 0 turns the memory tier off.
    pub memory_mb: u64,
    /// Folder of the on-disk tier; none: no disk tier.
    pub disk_dir: Option<PathBuf>,
    /// Bytes of tile files the disk tier may hold, each counted in whole 4 KiB blocks (least
    /// recently used deleted beyond it).
    pub disk_max_bytes: u64,
}

impl TileCacheConfig {
    /// Disk tier size when none is given: 4 GiB.
    pub const DEFAULT_DISK_MB: u64 = 4096;
}

/// A memory-only cache of `megabytes` MiB (the setting `ServerConfig::tile_cache_mb` holds).
impl From<u64> for TileCacheConfig {
    fn from(megabytes: u64) -> Self {
        Self {
            memory_mb: megabytes,
            ..Self::default()
        }
    }
}

/// A byte-bounded cache of [`CachedTile`]s in memory, an optional disk tier behind it, or
/// neither (memory size 0, no folder).
pub struct TileCache {
    inner: Option<Cache<TileKey, Arc<CachedTile>>>,
    disk: Option<Arc<DiskTier>>,
    max_bytes: u64,
    requests: AtomicU64,
    misses: AtomicU64,
}

/// What the memory tier holds and did since start (`GET /health`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MemoryTierStats {
    /// Tiles held.
    pub entries: u64,
    /// Bytes they weigh (see [`CachedTile::weight`]).
    pub bytes: u64,
    /// The bound on `bytes` (0: no memory tier).
    pub max_bytes: u64,
    /// Requests answered from memory (including those that waited for a load another
    /// request had started).
    pub hits: u64,
    /// Requests that went on to the disk tier or the database.
    pub misses: u64,
}

impl TileCache {
    /// A cache as `config` says. A disk folder that cannot be created is logged and left out
    /// (`onemap serve` creates it first, so there it is an error at start). The disk tier
    /// writes nothing until [`TileCache::forget_superseded`] has told it which versions are
    /// served (`AppState` does so before it serves).
    pub fn new(config: impl Into<TileCacheConfig>) -> Self {
        let config = config.into();
        let megabytes = config.memory_mb;
        let inner = (megabytes > 0).then(|| {
            Cache::builder()
                .max_capacity(megabytes.saturating_mul(1024 * 1024))
                .weigher(|key: &TileKey, tile: &Arc<CachedTile>| {
                    u32::try_from(tile.weight(key)).unwrap_or(u32::MAX)
                })
                .time_to_idle(TIME_TO_IDLE)
                .build()
        });
        let disk = config.disk_dir.as_deref().and_then(|dir| {
            DiskTier::open(dir, config.disk_max_bytes)
                .inspect_err(|e| {
                    tracing::error!(
                        "the tile cache folder {} cannot be used ({e}): tiles are not kept on disk",
                        dir.display()
                    );
                })
                .ok()
        });
        Self {
            inner,
            disk,
            max_bytes: if megabytes > 0 {
                megabytes.saturating_mul(1024 * 1024)
            } else {
                0
            },
            requests: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The tile under `key`, built by `load` if it is not cached. Concurrent requests for one
    /// tile missing from memory share one disk lookup and one `load`; a failed load is not
    /// cached.
    pub async fn get_or_load<F>(&self, key: TileKey, load: F) -> ServerResult<Arc<CachedTile>>
    where
        F: std::future::Future<Output = ServerResult<Arc<CachedTile>>>,
    {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let disk_key = key.clone();
        let through_disk = async move {
            let key = disk_key;
            self.misses.fetch_add(1, Ordering::Relaxed);
            let Some(disk) = &self.disk else {
                return load.await;
            };
            if let Some(tile) = disk.get(&key).await {
                return Ok(Arc::new(tile));
            }
            let tile = load.await?;
            disk.put(&key, &tile).await;
            Ok(tile)
        };
        match &self.inner {
            None => through_disk.await,
            // The error is shared by every request that waited for this load; the HTTP
            // layer logs it once per request.
            Some(cache) => cache
                .try_get_with(key, through_disk)
                .await
                .map_err(|e| ServerError::Tile(e.to_string())),
        }
    }

    /// Removes from disk the tiles of every version `catalog` no longer serves: versions
    /// superseded by a newer one of the same year (or, undated, by any newer one) and the
    /// versions of dropped layers; and keeps tiles of such versions from being written again
    /// (by requests that resolved them just before the change). The memory tier needs no
    /// purge: its entries of such versions are never asked for again and age out.
    pub async fn forget_superseded(&self, catalog: &Catalog) {
        if let Some(disk) = &self.disk {
            disk.retain(served_versions(catalog)).await;
        }
    }

    /// What the memory tier holds and did since start. Entry count and bytes are the cache's
    /// own figures after it has applied pending evictions.
    pub async fn memory_stats(&self) -> MemoryTierStats {
        let (entries, bytes) = match &self.inner {
            Some(cache) => {
                cache.run_pending_tasks().await;
                (cache.entry_count(), cache.weighted_size())
            }
            None => (0, 0),
        };
        let requests = self.requests.load(Ordering::Relaxed);
        let misses = self.misses.load(Ordering::Relaxed);
        MemoryTierStats {
            entries,
            bytes,
            max_bytes: self.max_bytes,
            hits: requests.saturating_sub(misses),
            misses,
        }
    }

    /// What the disk tier did since start; none without one.
    pub fn disk_stats(&self) -> Option<DiskTierStats> {
        self.disk.as_ref().map(|d| d.stats())
    }
}

/// The versions a tile request can resolve to (see `Layer::version`): each layer's newest,
/// and the newest of each survey year; each with what identifies it beyond its number (which
/// another database may give another version): layer, ingest time and source file digest.
fn served_versions(catalog: &Catalog) -> HashMap<i64, String> {
    let mut served = HashMap::new();
    for layer in catalog.visible(&Principal::Operator("tile cache".into())) {
        let mut years = HashSet::new();
        for (i, version) in layer.versions.iter().enumerate() {
            let newest_of_year = years.insert(version.year) && version.year.is_some();
            if i == 0 || newest_of_year {
                let identity = format!(
                    "{} {} {}",
                    layer.id, version.ingested_at, version.source_sha256
                );
                served.insert(version.id, identity);
            }
        }
    }
    served
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_tile_decompresses_to_its_bytes_and_its_tag_names_version_and_content() {
        let key = TileKey {
            versions: vec![7, 9],
            z: 3,
            x: 4,
            y: 5,
        };
        let raw: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let tile = CachedTile::new(&key, &raw).unwrap();
        assert_eq!(tile.raw().unwrap(), raw);
        assert!(tile.gzip.len() < raw.len());
        assert!(tile.etag.starts_with("W/\"v7.9-3-4-5-"), "{}", tile.etag);
        let other = CachedTile::new(&key, &raw[1..]).unwrap();
        assert_ne!(tile.etag, other.etag);
        let empty = CachedTile::new(&key, &[]).unwrap();
        assert!(empty.gzip.is_empty() && empty.raw().unwrap().is_empty());
    }

    /// Bytes that gzip cannot shrink (a simple generator, so the test is deterministic).
    fn incompressible(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 56) as u8
            })
            .collect()
    }

    #[tokio::test]
    async fn the_memory_tier_never_holds_more_than_its_bound_counting_key_tag_and_bookkeeping() {
        let cache = TileCache::new(1); // 1 MiB
        let bound = 1024 * 1024;
        let mut inserted = 0usize;
        for i in 0..400u32 {
            let key = TileKey {
                versions: vec![1, 2],
                z: 14,
                x: i,
                y: 7,
            };
            // Sizes from 2 to 14 KiB, 400 of them: about 3 MiB, three times the bound.
            let raw = incompressible(2048 + (i as usize % 7) * 2048, u64::from(i));
            let tile = cache
                .get_or_load(key.clone(), async {
                    Ok(Arc::new(CachedTile::new(&key, &raw).unwrap()))
                })
                .await
                .unwrap();
            // What the cache weighs is at least what the entry really holds.
            assert!(tile.weight(&key) > tile.gzip.len() + tile.etag.len() + 16);
            inserted += tile.weight(&key);
            let stats = cache.memory_stats().await;
            assert!(
                stats.bytes <= bound,
                "{} bytes held after tile {i}",
                stats.bytes
            );
        }
        assert!(inserted > 3 * bound as usize, "{inserted}");
        let stats = cache.memory_stats().await;
        assert_eq!(stats.max_bytes, bound);
        assert_eq!((stats.hits, stats.misses), (0, 400));
        assert!(stats.entries > 0 && stats.entries < 400, "{stats:?}");
        // The held entries, weighed again from their own bytes, stay within the bound.
        let held: usize = cache
            .inner
            .as_ref()
            .unwrap()
            .iter()
            .map(|(key, tile)| tile.weight(&key))
            .sum();
        assert!(held as u64 <= bound, "{held}");
        assert_eq!(held as u64, stats.bytes);
        // A second request for a held tile is a hit and does not load.
        let (key, _) = cache.inner.as_ref().unwrap().iter().next().unwrap();
        let again = cache
            .get_or_load((*key).clone(), async {
                panic!("a held tile was loaded again")
            })
            .await
            .unwrap();
        assert!(!again.gzip.is_empty());
        assert_eq!(cache.memory_stats().await.hits, 1);
    }

    #[test]
    fn a_compressed_tile_holds_no_spare_capacity() {
        // Very compressible: gzip is far below the half-size buffer it starts with.
        let raw = vec![7u8; 200_000];
        let compressed = gzip(&raw).unwrap();
        assert!(compressed.len() < 2_000, "{}", compressed.len());
        assert_eq!(compressed.capacity(), compressed.len());
        // And an incompressible tile, whose gzip outgrows the first guess.
        let compressed = gzip(&incompressible(50_000, 1)).unwrap();
        assert!(compressed.len() > 50_000, "{}", compressed.len());
        assert_eq!(compressed.capacity(), compressed.len());
    }
}
