//! The optional on-disk tier of the tile cache (issue 8, item 2): tiles the memory tier misses
//! (never cached, evicted, or lost with a restart) are looked up here before PostgreSQL is
//! asked, and every tile built from the database is written here.
//!
//! Like the memory tier it is keyed by layer version, so it is never stale: a file holds the
//! tile of fixed, immutable versions. Layout, every name built from integers only (nothing a
//! client sends becomes part of a path):
//!
//! ```text
//! DIR/v{version}[.{version}…]/{z}/{x}/{y}.tile      one folder per version (set, for composites)
//! DIR/v…/identity                                    each version's layer, ingest time, digest
//! DIR/v…/{z}/{x}/.{y}.{random}.tmp                   a write in progress, renamed when complete
//! DIR/.trash-v…-{random}/                            a purged folder being deleted
//! ```
//!
//! Version numbers are unique within one database only: the `identity` file ties a folder to
//! the versions of the database it was written for, and a folder whose identity does not match
//! the catalog (the folder was reused with another database) is purged before serving starts.
//!
//! A file is a fixed header (magic, lengths, SHA-256 of the rest), the entity tag and the
//! gzip-compressed MVT. A file whose length, checksum or tag does not match its name is
//! deleted and the tile built again, so a torn or truncated write (a crash, a full disk) costs
//! one database query, never a wrong tile. Folders of versions no longer served (superseded by
//! a newer version of the same year, or of a dropped layer) are removed when the catalog
//! changes and at start; the total size is bounded, least recently used files going first
//! (files from earlier runs by their modification time).
//!
//! One server process per folder: the size accounting is per process.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use rand::Rng as _;
use sha2::{Digest, Sha256};

use super::cache::{CachedTile, TileKey};

/// Identifies a tile file and its format version.
const MAGIC: &[u8; 8] = b"OMTILE01";
/// Magic, raw length, gzip length, tag length, SHA-256.
const HEADER_LEN: usize = 8 + 8 + 8 + 4 + 32;
/// Entity tags are short (`W/"v1.2-14-13000-6000-0123456789abcdef"`); anything longer is damage.
const MAX_ETAG_LEN: usize = 512;
/// The file in each version folder naming the versions it holds beyond their numbers (which
/// are unique in one database only): layer, ingest time, source digest.
const IDENTITY: &str = "identity";
/// The allocation unit of common file systems (ext4, xfs, tmpfs).
const BLOCK: u64 = 4096;
/// Temporary files older than this at start belong to a write that never finished.
const STALE_TEMP: Duration = Duration::from_secs(10 * 60);

/// What the disk tier did since start (for logs and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DiskTierStats {
    /// Tiles served from a file.
    pub hits: u64,
    /// Lookups that found no (valid) file.
    pub misses: u64,
    /// Tiles written.
    pub writes: u64,
    /// Files found damaged (length, checksum or tag) and deleted.
    pub corrupt: u64,
    /// Files deleted to keep the size bound.
    pub evicted: u64,
    /// Version folders deleted because their versions are no longer served.
    pub purged_versions: u64,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    writes: AtomicU64,
    corrupt: AtomicU64,
    evicted: AtomicU64,
    purged_versions: AtomicU64,
}

/// Which files exist, how large, and in what order they were last used.
#[derive(Default)]
struct Index {
    entries: HashMap<TileKey, (u64, u64)>,
    by_age: BTreeMap<u64, TileKey>,
    clock: u64,
    total: u64,
}

impl Index {
    /// Records `key` as used now, with `size` bytes on disk.
    fn touch(&mut self, key: &TileKey, size: u64) {
        self.clock += 1;
        if let Some((stamp, old)) = self.entries.insert(key.clone(), (self.clock, size)) {
            self.by_age.remove(&stamp);
            self.total -= old;
        }
        self.by_age.insert(self.clock, key.clone());
        self.total += size;
    }

    /// Records an existing file found at start, older than anything used since.
    fn found(&mut self, key: TileKey, size: u64, stamp: u64) {
        if self.entries.contains_key(&key) || self.by_age.contains_key(&stamp) {
            return;
        }
        self.by_age.insert(stamp, key.clone());
        self.entries.insert(key, (stamp, size));
        self.total += size;
    }

    fn remove(&mut self, key: &TileKey) {
        if let Some((stamp, size)) = self.entries.remove(key) {
            self.by_age.remove(&stamp);
            self.total -= size;
        }
    }

    fn oldest(&self) -> Option<TileKey> {
        self.by_age.values().next().cloned()
    }
}

/// The on-disk tier: a folder of tile files with a size bound.
pub struct DiskTier {
    dir: PathBuf,
    max_bytes: u64,
    index: Mutex<Index>,
    /// The versions the catalog served at the last purge, with their identities. Writes hold
    /// it shared and write only tiles of these versions; a purge holds it exclusively while it
    /// moves folders away, so no write of a superseded version lands after the purge (from a
    /// request that resolved the old version just before the change).
    served: RwLock<HashMap<i64, String>>,
    counters: Counters,
}

impl DiskTier {
    /// Opens (creating it if needed) the folder `dir`, holding at most `max_bytes` of files.
    /// The files already there are indexed in the background: they are served at once, and
    /// counted towards the bound as the scan finds them.
    pub fn open(dir: &Path, max_bytes: u64) -> io::Result<Arc<Self>> {
        fs::create_dir_all(dir)?;
        let tier = Arc::new(Self {
            dir: dir.to_path_buf(),
            max_bytes,
            index: Mutex::default(),
            served: RwLock::default(),
            counters: Counters::default(),
        });
        let scanning = tier.clone();
        std::thread::Builder::new()
            .name("tile-disk-scan".into())
            .spawn(move || {
                if let Err(e) = scanning.scan() {
                    tracing::warn!(
                        "scanning the tile cache folder {}: {e}",
                        scanning.dir.display()
                    );
                }
                scanning.shrink();
            })?;
        Ok(tier)
    }

    /// What the tier did since start.
    pub fn stats(&self) -> DiskTierStats {
        let c = &self.counters;
        DiskTierStats {
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            writes: c.writes.load(Ordering::Relaxed),
            corrupt: c.corrupt.load(Ordering::Relaxed),
            evicted: c.evicted.load(Ordering::Relaxed),
            purged_versions: c.purged_versions.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The folder of a set of versions.
    fn version_dir(&self, versions: &[i64]) -> PathBuf {
        let names: Vec<String> = versions.iter().map(i64::to_string).collect();
        self.dir.join(format!("v{}", names.join(".")))
    }

    /// Where the tile of `key` lives.
    fn path(&self, key: &TileKey) -> PathBuf {
        self.version_dir(&key.versions)
            .join(key.z.to_string())
            .join(key.x.to_string())
            .join(format!("{}.tile", key.y))
    }

    /// The tile of `key` if a valid file holds it. A damaged file is deleted.
    pub async fn get(self: &Arc<Self>, key: &TileKey) -> Option<CachedTile> {
        let tier = self.clone();
        let key = key.clone();
        tokio::task::spawn_blocking(move || tier.get_blocking(&key))
            .await
            .ok()
            .flatten()
    }

    fn get_blocking(&self, key: &TileKey) -> Option<CachedTile> {
        let path = self.path(key);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!("reading the cached tile {}: {e}", path.display());
                }
                self.lock().remove(key);
                self.counters.misses.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        };
        match decode(key, &bytes) {
            Ok(tile) => {
                self.lock().touch(key, allocated(bytes.len() as u64));
                self.counters.hits.fetch_add(1, Ordering::Relaxed);
                Some(tile)
            }
            Err(problem) => {
                tracing::warn!(
                    "the cached tile {} is damaged ({problem}): deleted, built again",
                    path.display()
                );
                let _ = fs::remove_file(&path);
                self.lock().remove(key);
                self.counters.corrupt.fetch_add(1, Ordering::Relaxed);
                self.counters.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Writes the tile of `key` (atomically: a temporary file renamed), then evicts the least
    /// recently used files beyond the bound. A failed write is logged, not an error: the tile
    /// was served, only not kept.
    pub async fn put(self: &Arc<Self>, key: &TileKey, tile: &CachedTile) {
        let tier = self.clone();
        let key = key.clone();
        let bytes = encode(tile);
        let written = tokio::task::spawn_blocking(move || {
            let result = tier.put_blocking(&key, &bytes);
            if let Err(e) = &result {
                tracing::warn!("writing the cached tile {}: {e}", tier.path(&key).display());
            }
            tier.shrink();
        })
        .await;
        if let Err(e) = written {
            tracing::warn!("writing a cached tile: {e}");
        }
    }

    fn put_blocking(&self, key: &TileKey, bytes: &[u8]) -> io::Result<()> {
        let served = self.served.read().unwrap_or_else(PoisonError::into_inner);
        let Some(identity) = identity_file(&key.versions, &served) else {
            // Superseded, or published since the last purge (which comes right after).
            return Ok(());
        };
        let folder = self.version_dir(&key.versions);
        let identity_path = folder.join(IDENTITY);
        if !identity_path.exists() {
            fs::create_dir_all(&folder)?;
            write_atomically(&folder, "identity", &identity_path, identity.as_bytes())?;
        }
        let path = self.path(key);
        let folder = path.parent().unwrap_or(&self.dir);
        fs::create_dir_all(folder)?;
        write_atomically(folder, &key.y.to_string(), &path, bytes)?;
        self.lock().touch(key, allocated(bytes.len() as u64));
        self.counters.writes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Deletes the least recently used files until the total fits the bound.
    fn shrink(&self) {
        loop {
            let victim = {
                let mut index = self.lock();
                if index.total <= self.max_bytes {
                    return;
                }
                let Some(key) = index.oldest() else { return };
                index.remove(&key);
                key
            };
            match fs::remove_file(self.path(&victim)) {
                Ok(()) => {
                    self.counters.evicted.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!("evicting a cached tile: {e}"),
            }
        }
    }

    /// Deletes the folders of every version set holding a version not in `served` (the
    /// versions the catalog can still serve, with their identities), or written for a version
    /// of the same number but another identity (another database), and their files from the
    /// index. From now on only tiles of `served` versions are written.
    pub async fn retain(self: &Arc<Self>, served: HashMap<i64, String>) {
        let tier = self.clone();
        let done = tokio::task::spawn_blocking(move || tier.retain_blocking(served)).await;
        if let Err(e) = done {
            tracing::warn!("removing superseded cached tiles: {e}");
        }
    }

    fn retain_blocking(&self, live: HashMap<i64, String>) {
        let mut trash = Vec::new();
        {
            let mut served = self.served.write().unwrap_or_else(PoisonError::into_inner);
            let Ok(folders) = fs::read_dir(&self.dir) else {
                return;
            };
            for folder in folders.flatten() {
                let name = folder.file_name();
                let Some(name) = name.to_str() else { continue };
                if name.starts_with(".trash-") {
                    // Left by a purge that was interrupted.
                    trash.push(folder.path());
                    continue;
                }
                let Some(versions) = parse_versions(name) else {
                    continue;
                };
                let written = fs::read_to_string(folder.path().join(IDENTITY)).ok();
                if written.is_some() && written == identity_file(&versions, &live) {
                    continue;
                }
                self.lock().entries.retain(|k, _| k.versions != versions);
                // Moved away at once (a rename), deleted after the lock is released.
                let away = self.dir.join(format!(
                    ".trash-{name}-{:016x}",
                    rand::thread_rng().gen::<u64>()
                ));
                match fs::rename(folder.path(), &away) {
                    Ok(()) => {
                        trash.push(away);
                        self.counters
                            .purged_versions
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => tracing::warn!(
                        "removing the superseded cached tiles {}: {e}",
                        folder.path().display()
                    ),
                }
            }
            self.rebuild_order();
            *served = live;
        }
        for folder in trash {
            if let Err(e) = fs::remove_dir_all(&folder) {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(
                        "removing the superseded cached tiles {}: {e}",
                        folder.display()
                    );
                }
            }
        }
    }

    /// Recomputes the age order and total after entries were dropped in bulk.
    fn rebuild_order(&self) {
        let mut index = self.lock();
        let Index {
            entries,
            by_age,
            total,
            ..
        } = &mut *index;
        by_age.clear();
        *total = 0;
        for (key, &(stamp, size)) in entries.iter() {
            by_age.insert(stamp, key.clone());
            *total += size;
        }
    }

    /// Indexes the files present at start, oldest first; deletes temporary files left by
    /// writes that never finished.
    fn scan(&self) -> io::Result<()> {
        let mut found: Vec<(SystemTime, TileKey, u64)> = Vec::new();
        for folder in fs::read_dir(&self.dir)?.flatten() {
            let name = folder.file_name();
            let Some(versions) = name.to_str().and_then(parse_versions) else {
                continue;
            };
            for zd in read_numbered(&folder.path()) {
                let (Some(z), zpath) = (u8::try_from(zd.0).ok(), zd.1) else {
                    continue;
                };
                for xd in read_numbered(&zpath) {
                    let Ok(x) = u32::try_from(xd.0) else { continue };
                    for file in fs::read_dir(&xd.1).into_iter().flatten().flatten() {
                        let Ok(meta) = file.metadata() else { continue };
                        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                        let name = file.file_name();
                        let name = name.to_string_lossy();
                        if name.ends_with(".tmp") {
                            if modified.elapsed().unwrap_or_default() > STALE_TEMP {
                                let _ = fs::remove_file(file.path());
                            }
                            continue;
                        }
                        let Some(y) = name.strip_suffix(".tile").and_then(|y| y.parse().ok())
                        else {
                            continue;
                        };
                        let key = TileKey {
                            versions: versions.clone(),
                            z,
                            x,
                            y,
                        };
                        found.push((modified, key, allocated(meta.len())));
                    }
                }
            }
        }
        found.sort_by_key(|(modified, _, _)| *modified);
        // Files used since start already hold stamps from 1: the files found, older than
        // any of them, take the lowest stamps and the others move up.
        let shift = found.len() as u64;
        let mut index = self.lock();
        let used = std::mem::take(&mut *index);
        let mut merged = Index {
            clock: used.clock + shift,
            ..Index::default()
        };
        for (key, (stamp, size)) in used.entries {
            merged.by_age.insert(stamp + shift, key.clone());
            merged.entries.insert(key, (stamp + shift, size));
            merged.total += size;
        }
        for (stamp, (_, key, size)) in found.into_iter().enumerate() {
            merged.found(key, size, stamp as u64 + 1);
        }
        *index = merged;
        Ok(())
    }
}

/// Writes `bytes` to `path` through a temporary file in `folder` renamed at the end, so that
/// `path` never holds part of them.
fn write_atomically(folder: &Path, stem: &str, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = folder.join(format!(
        ".{stem}.{:016x}.tmp",
        rand::thread_rng().gen::<u64>()
    ));
    let written = fs::File::create(&temp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| fs::rename(&temp, path));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

/// What the tile SQL puts in a tile (layers, properties): part of every folder's identity, so
/// that tiles written by an older server are purged rather than served after an upgrade.
/// Bump it whenever the tiles of an unchanged version would come out differently.
const TILE_FORMAT: &str = "tiles 3 (area-true land-use mosaics)";

/// The identity file of a version folder: the tile format, then one line per version, its
/// number and identity; none if a version is not served.
fn identity_file(versions: &[i64], served: &HashMap<i64, String>) -> Option<String> {
    let lines: Option<String> = versions
        .iter()
        .map(|v| Some(format!("{v}\t{}\n", served.get(v)?)))
        .collect();
    Some(format!("{TILE_FORMAT}\n{}", lines?))
}

/// The space a file of `len` bytes takes on disk, counted against the bound: whole blocks of
/// 4 KiB (most tiles are smaller than one).
fn allocated(len: u64) -> u64 {
    len.div_ceil(BLOCK) * BLOCK
}

/// The numbered subfolders of `dir`: (number, path).
fn read_numbered(dir: &Path) -> Vec<(u64, PathBuf)> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path())))
        .collect()
}

/// The versions of a folder name `v12` or `v12.15`.
fn parse_versions(name: &str) -> Option<Vec<i64>> {
    name.strip_prefix('v')?
        .split('.')
        .map(|v| v.parse().ok())
        .collect()
}

/// The start every entity tag of `key` has (see [`CachedTile::new`]).
fn etag_prefix(key: &TileKey) -> String {
    let versions: Vec<String> = key.versions.iter().map(i64::to_string).collect();
    format!("W/\"v{}-{}-{}-{}-", versions.join("."), key.z, key.x, key.y)
}

/// SHA-256 of the lengths, the tag and the body: everything in the file but the magic and
/// the checksum itself.
fn checksum(lengths: &[u8], etag: &[u8], gzip: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(lengths);
    hash.update(etag);
    hash.update(gzip);
    hash.finalize().into()
}

/// The file of a tile.
fn encode(tile: &CachedTile) -> Vec<u8> {
    let etag = tile.etag.as_bytes();
    let mut out = Vec::with_capacity(HEADER_LEN + etag.len() + tile.gzip.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(tile.raw_len as u64).to_le_bytes());
    out.extend_from_slice(&(tile.gzip.len() as u64).to_le_bytes());
    out.extend_from_slice(&(etag.len() as u32).to_le_bytes());
    let sum = checksum(&out[8..], etag, &tile.gzip);
    out.extend_from_slice(&sum);
    out.extend_from_slice(etag);
    out.extend_from_slice(&tile.gzip);
    out
}

/// The tile in a file, if the file is whole and belongs to `key`.
fn decode(key: &TileKey, bytes: &[u8]) -> Result<CachedTile, String> {
    if bytes.len() < HEADER_LEN {
        return Err(format!("{} bytes, shorter than the header", bytes.len()));
    }
    if &bytes[..8] != MAGIC {
        return Err("not a tile file".into());
    }
    let number = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
    let raw_len = number(8);
    let gzip_len = number(16);
    let etag_len = u32::from_le_bytes(bytes[24..28].try_into().unwrap_or_default()) as usize;
    if etag_len > MAX_ETAG_LEN {
        return Err(format!("a tag of {etag_len} bytes"));
    }
    let expected = (HEADER_LEN + etag_len) as u64 + gzip_len;
    if bytes.len() as u64 != expected {
        return Err(format!(
            "{} bytes where {expected} were written",
            bytes.len()
        ));
    }
    let etag = &bytes[HEADER_LEN..HEADER_LEN + etag_len];
    let gzip = &bytes[HEADER_LEN + etag_len..];
    if checksum(&bytes[8..28], etag, gzip)[..] != bytes[28..HEADER_LEN] {
        return Err("checksum mismatch".into());
    }
    let etag = String::from_utf8(etag.to_vec()).map_err(|_| "a tag that is not UTF-8")?;
    if !etag.starts_with(&etag_prefix(key)) {
        return Err(format!("the tag {etag} of another tile"));
    }
    if (raw_len == 0) != gzip.is_empty() {
        return Err("inconsistent lengths".into());
    }
    Ok(CachedTile {
        gzip: Bytes::copy_from_slice(gzip),
        raw_len: usize::try_from(raw_len).map_err(|_| "a length beyond memory")?,
        etag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(y: u32) -> TileKey {
        TileKey {
            versions: vec![3, 41],
            z: 12,
            x: 3198,
            y,
        }
    }

    #[test]
    fn a_tile_file_decodes_to_its_tile_and_any_damage_is_found() {
        let raw: Vec<u8> = (0..5_000u32).map(|i| (i % 13) as u8).collect();
        let tile = CachedTile::new(&key(7), &raw).unwrap();
        let file = encode(&tile);
        let back = decode(&key(7), &file).unwrap();
        assert_eq!(back.raw().unwrap(), raw);
        assert_eq!(back.etag, tile.etag);
        // Truncated anywhere, one byte flipped anywhere, or under another tile's name.
        for cut in [0, 10, HEADER_LEN, file.len() - 1] {
            assert!(decode(&key(7), &file[..cut]).is_err(), "cut at {cut}");
        }
        for at in [0, 9, 20, 30, HEADER_LEN + 3, file.len() - 1] {
            let mut bad = file.clone();
            bad[at] ^= 0x40;
            assert!(decode(&key(7), &bad).is_err(), "flipped at {at}");
        }
        assert!(decode(&key(8), &file).unwrap_err().contains("another tile"));
        let empty = CachedTile::new(&key(7), &[]).unwrap();
        assert_eq!(decode(&key(7), &encode(&empty)).unwrap().raw_len, 0);
    }

    #[test]
    fn folder_names_are_built_from_versions_only_and_parsed_back() {
        assert_eq!(parse_versions("v3.41"), Some(vec![3, 41]));
        assert_eq!(parse_versions("v7"), Some(vec![7]));
        assert_eq!(parse_versions("v7/../x"), None);
        assert_eq!(parse_versions("tmp"), None);
    }

    #[test]
    fn the_least_recently_used_files_go_first() {
        let mut index = Index::default();
        for y in 0..4 {
            index.touch(&key(y), 10);
        }
        index.touch(&key(0), 10);
        assert_eq!(index.total, 40);
        assert_eq!(index.oldest(), Some(key(1)));
        index.remove(&key(1));
        assert_eq!(index.oldest(), Some(key(2)));
        assert_eq!(index.total, 30);
    }
}
