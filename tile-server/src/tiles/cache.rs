//! The in-memory tile cache (issue 8, item 2): always right because it is keyed by layer
//! *version*. Versions are immutable and a publication creates a new one, which the catalog
//! (reloaded on NOTIFY) resolves requests to at once, so no entry ever needs invalidating:
//! entries of superseded versions are simply no longer asked for and age out (idle time and the
//! byte bound). The cache sits behind authorization: a request reaches it only with versions
//! the catalog has already let the caller see.
//!
//! Tiles are stored gzip-compressed, compressed once when built; clients that accept gzip get
//! the stored bytes as they are.

use std::io::{Read as _, Write as _};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use moka::future::Cache;
use sha2::{Digest, Sha256};

use crate::error::{ServerError, ServerResult};

/// Entries not read for this long leave the cache.
const TIME_TO_IDLE: Duration = Duration::from_secs(60 * 60);
/// Weight of an entry besides its bytes (key, ETag, bookkeeping).
const ENTRY_OVERHEAD: usize = 128;

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
            let mut encoder =
                GzEncoder::new(Vec::with_capacity(raw.len() / 2), Compression::fast());
            encoder
                .write_all(raw)
                .and_then(|()| encoder.finish())
                .map(Bytes::from)
                .map_err(|e| ServerError::Tile(format!("compressing a tile: {e}")))?
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
}

/// A byte-bounded cache of [`CachedTile`]s, or none at all (size 0).
pub struct TileCache {
    inner: Option<Cache<TileKey, Arc<CachedTile>>>,
}

impl TileCache {
    /// A cache holding at most `megabytes` MiB of compressed tiles; 0 disables caching.
    pub fn new(megabytes: u64) -> Self {
        let inner = (megabytes > 0).then(|| {
            Cache::builder()
                .max_capacity(megabytes.saturating_mul(1024 * 1024))
                .weigher(|_key: &TileKey, tile: &Arc<CachedTile>| {
                    u32::try_from(tile.gzip.len() + tile.etag.len() + ENTRY_OVERHEAD)
                        .unwrap_or(u32::MAX)
                })
                .time_to_idle(TIME_TO_IDLE)
                .build()
        });
        Self { inner }
    }

    /// The tile under `key`, built by `load` if it is not cached. Concurrent requests for one
    /// missing tile share one `load`; a failed load is not cached.
    pub async fn get_or_load<F>(&self, key: TileKey, load: F) -> ServerResult<Arc<CachedTile>>
    where
        F: std::future::Future<Output = ServerResult<Arc<CachedTile>>>,
    {
        match &self.inner {
            None => load.await,
            // The error is shared by every request that waited for this load; the HTTP
            // layer logs it once per request.
            Some(cache) => cache
                .try_get_with(key, load)
                .await
                .map_err(|e| ServerError::Tile(e.to_string())),
        }
    }
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
}
