//! PMTiles version 3, written and read here (the format is small: a 127-byte header, varint
//! directories, JSON metadata, then the tiles). Written clustered: tile data in tile-id
//! (Hilbert) order, identical tiles stored once, consecutive identical tiles as one run, and
//! directories gzip-compressed. A root directory that would not fit the first 16 KiB is split
//! into leaf directories, as the specification asks.
//!
//! The reader is what the tests (and any tool) use to read a package back; the viewer reads
//! packages with the npm `pmtiles` decoder.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};

use super::{ExportError, ExportResult, PackageInfo};

const HEADER_LEN: usize = 127;
/// The header and the root directory together must fit in this many bytes.
const ROOT_LIMIT: usize = 16_384;
const COMPRESSION_GZIP: u8 = 2;
const TILE_TYPE_MVT: u8 = 1;

/// The PMTiles tile id of `z/x/y`: tiles of lower zooms first, then the position along the
/// zoom's Hilbert curve.
pub fn tile_id(z: u8, x: u32, y: u32) -> u64 {
    let base: u64 = ((1u64 << (2 * u32::from(z))) - 1) / 3;
    let (mut x, mut y) = (u64::from(x), u64::from(y));
    let mut d = 0u64;
    let n: u64 = 1u64 << z;
    let mut s: u64 = n >> 1;
    while s > 0 {
        let rx = u64::from(x & s > 0);
        let ry = u64::from(y & s > 0);
        d += s * s * ((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = n - 1 - x;
                y = n - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s >>= 1;
    }
    base + d
}

/// One directory entry: `run_length` tiles from `tile_id` on with the same content, or a leaf
/// directory when `run_length` is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    tile_id: u64,
    offset: u64,
    length: u32,
    run_length: u32,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(buf: &[u8], pos: &mut usize) -> ExportResult<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf
            .get(*pos)
            .ok_or_else(|| ExportError::Format("directory ends inside a varint".into()))?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(v);
        }
    }
    Err(ExportError::Format("varint longer than 64 bits".into()))
}

fn gzip(bytes: &[u8]) -> ExportResult<Vec<u8>> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes)?;
    Ok(e.finish()?)
}

fn gunzip(bytes: &[u8]) -> ExportResult<Vec<u8>> {
    let mut out = Vec::new();
    GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

/// A directory, serialized as the specification says (columns of deltas), gzip-compressed.
fn serialize_directory(entries: &[Entry]) -> ExportResult<Vec<u8>> {
    let mut out = Vec::new();
    put_varint(&mut out, entries.len() as u64);
    let mut last = 0;
    for e in entries {
        put_varint(&mut out, e.tile_id - last);
        last = e.tile_id;
    }
    for e in entries {
        put_varint(&mut out, u64::from(e.run_length));
    }
    for e in entries {
        put_varint(&mut out, u64::from(e.length));
    }
    for (i, e) in entries.iter().enumerate() {
        let follows = i > 0 && e.offset == entries[i - 1].offset + u64::from(entries[i - 1].length);
        put_varint(&mut out, if follows { 0 } else { e.offset + 1 });
    }
    gzip(&out)
}

fn deserialize_directory(compressed: &[u8]) -> ExportResult<Vec<Entry>> {
    let buf = gunzip(compressed)?;
    let mut pos = 0;
    let n = usize::try_from(get_varint(&buf, &mut pos)?)
        .map_err(|_| ExportError::Format("too many entries".into()))?;
    let mut entries = vec![
        Entry {
            tile_id: 0,
            offset: 0,
            length: 0,
            run_length: 0
        };
        n.min(buf.len())
    ];
    if entries.len() != n {
        return Err(ExportError::Format(
            "directory shorter than its count".into(),
        ));
    }
    let mut last = 0;
    for e in &mut entries {
        last += get_varint(&buf, &mut pos)?;
        e.tile_id = last;
    }
    let small = |v: u64| u32::try_from(v).map_err(|_| ExportError::Format("entry too big".into()));
    for e in &mut entries {
        e.run_length = small(get_varint(&buf, &mut pos)?)?;
    }
    for e in &mut entries {
        e.length = small(get_varint(&buf, &mut pos)?)?;
    }
    for i in 0..n {
        let v = get_varint(&buf, &mut pos)?;
        entries[i].offset = if v == 0 && i > 0 {
            entries[i - 1].offset + u64::from(entries[i - 1].length)
        } else {
            v.checked_sub(1)
                .ok_or_else(|| ExportError::Format("first offset is 0".into()))?
        };
    }
    Ok(entries)
}

/// The root directory and the leaf directories: all entries in the root if they fit,
/// otherwise leaves of `leaf_size` entries, growing until the root fits.
fn build_directories(entries: &[Entry]) -> ExportResult<(Vec<u8>, Vec<u8>)> {
    let root = serialize_directory(entries)?;
    if HEADER_LEN + root.len() <= ROOT_LIMIT {
        return Ok((root, Vec::new()));
    }
    let mut leaf_size = 4096;
    loop {
        let mut leaves = Vec::new();
        let mut root_entries = Vec::new();
        for chunk in entries.chunks(leaf_size) {
            let leaf = serialize_directory(chunk)?;
            root_entries.push(Entry {
                tile_id: chunk[0].tile_id,
                offset: leaves.len() as u64,
                length: u32::try_from(leaf.len())
                    .map_err(|_| ExportError::Format("leaf directory too big".into()))?,
                run_length: 0,
            });
            leaves.extend_from_slice(&leaf);
        }
        let root = serialize_directory(&root_entries)?;
        if HEADER_LEN + root.len() <= ROOT_LIMIT {
            return Ok((root, leaves));
        }
        leaf_size *= 2;
    }
}

/// Collects tiles (in any order) and writes the archive on [`PmtilesWriter::finish`].
///
/// Tiles are held in memory until then (each distinct content once): a county's offline
/// package is tens of megabytes.
#[derive(Default)]
pub struct PmtilesWriter {
    /// Tile id → index into `contents`.
    tiles: Vec<(u64, usize)>,
    contents: Vec<Vec<u8>>,
    by_hash: HashMap<[u8; 32], usize>,
}

impl PmtilesWriter {
    /// Adds the gzip-compressed tile `z/x/y`.
    pub fn put(&mut self, z: u8, x: u32, y: u32, gzip_tile: Vec<u8>) {
        let hash: [u8; 32] = Sha256::digest(&gzip_tile).into();
        let next = self.contents.len();
        let index = *self.by_hash.entry(hash).or_insert(next);
        if index == next {
            self.contents.push(gzip_tile);
        }
        self.tiles.push((tile_id(z, x, y), index));
    }

    /// Distinct tile contents so far.
    pub fn unique(&self) -> usize {
        self.contents.len()
    }

    /// Writes the archive to `path`; returns its size in bytes.
    pub fn finish(mut self, path: &Path, info: &PackageInfo) -> ExportResult<u64> {
        self.tiles.sort_unstable_by_key(|&(id, _)| id);
        // Tile data in tile-id order, each content at the place it is first needed.
        let mut offsets: Vec<Option<u64>> = vec![None; self.contents.len()];
        let mut order = Vec::new();
        let mut data_len = 0u64;
        let mut entries: Vec<Entry> = Vec::new();
        for &(id, index) in &self.tiles {
            let len = self.contents[index].len();
            let offset = *offsets[index].get_or_insert_with(|| {
                order.push(index);
                data_len += len as u64;
                data_len - len as u64
            });
            let length =
                u32::try_from(len).map_err(|_| ExportError::Format("tile over 4 GiB".into()))?;
            match entries.last_mut() {
                Some(last)
                    if last.offset == offset && last.tile_id + u64::from(last.run_length) == id =>
                {
                    last.run_length += 1;
                }
                _ => entries.push(Entry {
                    tile_id: id,
                    offset,
                    length,
                    run_length: 1,
                }),
            }
        }
        let (root, leaves) = build_directories(&entries)?;
        let metadata = gzip(&serde_json::to_vec(&info.metadata_json())?)?;

        let root_offset = HEADER_LEN as u64;
        let metadata_offset = root_offset + root.len() as u64;
        let leaves_offset = metadata_offset + metadata.len() as u64;
        let data_offset = leaves_offset + leaves.len() as u64;
        let mut h = Vec::with_capacity(HEADER_LEN);
        h.extend_from_slice(b"PMTiles");
        h.push(3);
        for v in [
            root_offset,
            root.len() as u64,
            metadata_offset,
            metadata.len() as u64,
            leaves_offset,
            leaves.len() as u64,
            data_offset,
            data_len,
            self.tiles.len() as u64,
            entries.len() as u64,
            self.contents.len() as u64,
        ] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        h.extend_from_slice(&[1, COMPRESSION_GZIP, COMPRESSION_GZIP, TILE_TYPE_MVT]);
        h.extend_from_slice(&[info.minzoom, info.maxzoom]);
        let e7 = |deg: f64| (deg * 1e7).round() as i32;
        for deg in info.bounds {
            h.extend_from_slice(&e7(deg).to_le_bytes());
        }
        let [w, s, e, n] = info.bounds;
        h.push(info.center_zoom());
        h.extend_from_slice(&e7(f64::midpoint(w, e)).to_le_bytes());
        h.extend_from_slice(&e7(f64::midpoint(s, n)).to_le_bytes());
        debug_assert_eq!(h.len(), HEADER_LEN);

        let mut out = BufWriter::new(File::create(path)?);
        out.write_all(&h)?;
        out.write_all(&root)?;
        out.write_all(&metadata)?;
        out.write_all(&leaves)?;
        for index in order {
            out.write_all(&self.contents[index])?;
        }
        out.flush()?;
        Ok(data_offset + data_len)
    }
}

/// The header fields the tests and tools look at.
#[derive(Debug, Clone, PartialEq)]
pub struct PmtilesHeader {
    pub addressed_tiles: u64,
    pub tile_entries: u64,
    pub tile_contents: u64,
    pub clustered: bool,
    pub internal_compression: u8,
    pub tile_compression: u8,
    pub tile_type: u8,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// West, south, east, north.
    pub bounds: [f64; 4],
    pub center_zoom: u8,
    root: (u64, u64),
    metadata: (u64, u64),
    leaves: (u64, u64),
    data: (u64, u64),
}

/// Reads tiles out of a PMTiles v3 archive.
pub struct PmtilesReader {
    file: File,
    pub header: PmtilesHeader,
}

impl PmtilesReader {
    /// Opens `path` and reads its header.
    pub fn open(path: &Path) -> ExportResult<Self> {
        let mut file = File::open(path)?;
        let mut h = [0u8; HEADER_LEN];
        file.read_exact(&mut h)?;
        if &h[..7] != b"PMTiles" || h[7] != 3 {
            return Err(ExportError::Format("not a PMTiles v3 archive".into()));
        }
        let u = |i: usize| u64::from_le_bytes(h[i..i + 8].try_into().unwrap_or_default());
        let deg = |i: usize| {
            f64::from(i32::from_le_bytes(
                h[i..i + 4].try_into().unwrap_or_default(),
            )) / 1e7
        };
        let header = PmtilesHeader {
            root: (u(8), u(16)),
            metadata: (u(24), u(32)),
            leaves: (u(40), u(48)),
            data: (u(56), u(64)),
            addressed_tiles: u(72),
            tile_entries: u(80),
            tile_contents: u(88),
            clustered: h[96] == 1,
            internal_compression: h[97],
            tile_compression: h[98],
            tile_type: h[99],
            minzoom: h[100],
            maxzoom: h[101],
            bounds: [deg(102), deg(106), deg(110), deg(114)],
            center_zoom: h[118],
        };
        Ok(Self { file, header })
    }

    fn read(&mut self, offset: u64, len: u64) -> ExportResult<Vec<u8>> {
        let len = usize::try_from(len).map_err(|_| ExportError::Format("length".into()))?;
        let mut buf = vec![0u8; len];
        self.file.seek(SeekFrom::Start(offset))?;
        self.file.read_exact(&mut buf)?;
        Ok(buf)
    }

    /// The metadata JSON.
    pub fn metadata(&mut self) -> ExportResult<serde_json::Value> {
        let (o, l) = self.header.metadata;
        let bytes = gunzip(&self.read(o, l)?)?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// Every addressed tile as `(tile id, gzip-compressed bytes)`, in tile-id order.
    pub fn tiles(&mut self) -> ExportResult<Vec<(u64, Vec<u8>)>> {
        let (ro, rl) = self.header.root;
        let root = deserialize_directory(&self.read(ro, rl)?)?;
        let mut out = Vec::new();
        self.walk(&root, &mut out)?;
        Ok(out)
    }

    fn walk(&mut self, dir: &[Entry], out: &mut Vec<(u64, Vec<u8>)>) -> ExportResult<()> {
        for e in dir {
            if e.run_length == 0 {
                let leaf = self.read(self.header.leaves.0 + e.offset, u64::from(e.length))?;
                let leaf = deserialize_directory(&leaf)?;
                self.walk(&leaf, out)?;
            } else {
                let bytes = self.read(self.header.data.0 + e.offset, u64::from(e.length))?;
                for i in 0..u64::from(e.run_length) {
                    out.push((e.tile_id + i, bytes.clone()));
                }
            }
        }
        Ok(())
    }

    /// The gzip-compressed tile `z/x/y`, or `None` if the archive does not have it.
    pub fn get(&mut self, z: u8, x: u32, y: u32) -> ExportResult<Option<Vec<u8>>> {
        let id = tile_id(z, x, y);
        let (mut o, mut l) = self.header.root;
        let mut base = 0;
        for _ in 0..4 {
            let dir = deserialize_directory(&self.read(base + o, l)?)?;
            let Some(e) = dir.iter().rev().find(|e| e.tile_id <= id) else {
                return Ok(None);
            };
            if e.run_length == 0 {
                (base, o, l) = (self.header.leaves.0, e.offset, u64::from(e.length));
                continue;
            }
            if id >= e.tile_id + u64::from(e.run_length) {
                return Ok(None);
            }
            return self
                .read(self.header.data.0 + e.offset, u64::from(e.length))
                .map(Some);
        }
        Err(ExportError::Format("directories nested too deep".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_ids_follow_the_specification_examples() {
        assert_eq!(tile_id(0, 0, 0), 0);
        assert_eq!(tile_id(1, 0, 0), 1);
        assert_eq!(tile_id(1, 0, 1), 2);
        assert_eq!(tile_id(1, 1, 1), 3);
        assert_eq!(tile_id(1, 1, 0), 4);
        assert_eq!(tile_id(2, 0, 0), 5);
        assert_eq!(tile_id(3, 7, 0), 84);
        assert_eq!(tile_id(20, 0, 0), 366_503_875_925);
    }

    #[test]
    fn directories_round_trip_with_runs_and_shared_offsets() {
        let entries = vec![
            Entry {
                tile_id: 5,
                offset: 0,
                length: 10,
                run_length: 1,
            },
            Entry {
                tile_id: 6,
                offset: 10,
                length: 7,
                run_length: 3,
            },
            Entry {
                tile_id: 40,
                offset: 0,
                length: 10,
                run_length: 1,
            },
        ];
        let bytes = serialize_directory(&entries).unwrap();
        assert_eq!(deserialize_directory(&bytes).unwrap(), entries);
    }

    #[test]
    fn a_large_archive_gets_leaf_directories_and_reads_back() {
        let dir = std::env::temp_dir().join(format!("onemap-pmtiles-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.pmtiles");
        let mut w = PmtilesWriter::default();
        // A scattered third of z10, each tile different and of its own length, so that tile
        // ids jump and lengths vary: the root alone would not fit 16 KiB.
        let mut count = 0u64;
        for x in 0..1024u32 {
            for y in 0..1024u32 {
                let h = x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503);
                if h % 3 == 0 || (x, y) == (0, 0) || (x, y) == (18, 201) {
                    let pad = "#".repeat((h % 97) as usize);
                    w.put(10, x, y, format!("{x}/{y}{pad}").into_bytes());
                    count += 1;
                }
            }
        }
        w.put(11, 3, 3, b"0/0".to_vec()); // the same content as 10/0/0: stored once
        let info = PackageInfo {
            minzoom: 10,
            maxzoom: 11,
            bounds: [100.0, 38.0, 102.0, 39.0],
            ..PackageInfo::default()
        };
        w.finish(&path, &info).unwrap();
        let mut r = PmtilesReader::open(&path).unwrap();
        assert!(r.header.leaves.1 > 0, "expected leaf directories");
        assert_eq!(r.header.addressed_tiles, count + 1);
        assert_eq!(r.header.tile_contents, count);
        assert_eq!(r.header.bounds, [100.0, 38.0, 102.0, 39.0]);
        assert!(r.get(10, 18, 201).unwrap().unwrap().starts_with(b"18/201"));
        assert_eq!(r.get(11, 3, 3).unwrap().unwrap(), b"0/0");
        assert_eq!(r.get(11, 3, 4).unwrap(), None);
        assert_eq!(r.get(9, 0, 0).unwrap(), None);
        assert_eq!(r.tiles().unwrap().len() as u64, count + 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
