//! PostgreSQL binary COPY rows, encoded on the reader's (blocking) thread so the async side only
//! forwards bytes. Writing the format directly, rather than through `BinaryCopyInWriter`, keeps
//! all per-feature work off the runtime and needs no lookup of PostGIS's `geometry` type oid:
//! the binary input of `geometry` accepts EWKB, and `jsonb`'s is a version byte plus JSON text.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::{EwkbEncoder, GeometryKind};
use crate::IngestError;

/// Signature, flags and header-extension length of the binary COPY format.
pub const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The field count -1 that ends the data.
pub const COPY_TRAILER: &[u8] = &(-1i16).to_be_bytes();

/// Chunks this big go to the writer; bounded by the channel's depth, so memory stays small.
const CHUNK_BYTES: usize = 1 << 20;

/// How many examples of rejected features a report keeps.
pub const MAX_EXAMPLES: usize = 10;

/// A feature that was not written, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Rejection {
    /// 1-based position of the feature in the file.
    pub feature: u64,
    pub field: Option<String>,
    pub reason: String,
}

/// What the sink saw, once the reader is done.
#[derive(Debug, Clone, Default)]
pub struct SinkSummary {
    /// Features the reader offered (written or rejected).
    pub read: u64,
    /// Features encoded as COPY rows.
    pub features: u64,
    /// The dimension of all features; `None` when there were none.
    pub kind: Option<GeometryKind>,
    /// The first attribute named `DLBM` in any case, spelled as in the file.
    pub class_field: Option<String>,
    /// Whether single (Polygon) and multi (MultiPolygon) geometries were both written.
    pub mixed_multi: bool,
    saw_single: bool,
    saw_multi: bool,
    /// Features skipped (null or empty geometry), counted; the first few kept as examples.
    pub rejected: u64,
    pub rejections: Vec<Rejection>,
    /// Notes for the report (Z/M dropped, bytes replaced while decoding text, ...).
    pub notes: std::collections::BTreeSet<String>,
}

impl SinkSummary {
    /// Counts a rejected feature, keeping the first few as examples.
    pub fn reject(&mut self, feature: u64, field: Option<&str>, reason: impl Into<String>) {
        self.rejected += 1;
        if self.rejections.len() < MAX_EXAMPLES {
            self.rejections.push(Rejection {
                feature,
                field: field.map(str::to_owned),
                reason: reason.into(),
            });
        }
    }
}

/// A problem with one attribute value of a feature.
#[derive(Debug, Clone)]
pub struct FieldProblem {
    pub field: String,
    pub problem: String,
}

/// Receives features from a reader and sends COPY rows down a channel.
pub struct RowSink {
    file: PathBuf,
    version_id: i64,
    srid: i32,
    /// The existing layer's dimension, if any: a feature of another one fails at once.
    expected: Option<(String, GeometryKind)>,
    buf: Vec<u8>,
    tx: mpsc::Sender<Bytes>,
    summary: SinkSummary,
    /// Canonical attribute names to give variants (empty: attributes are kept as written).
    aliases: Vec<crate::FieldAlias>,
    /// Where to report the features read, chunk by chunk.
    progress: Option<std::sync::Arc<crate::IngestProgress>>,
}

impl RowSink {
    /// A sink for the rows of `version_id`, geometries tagged with `srid`.
    pub fn new(
        file: &Path,
        version_id: i64,
        srid: i32,
        expected: Option<(String, GeometryKind)>,
        tx: mpsc::Sender<Bytes>,
    ) -> Self {
        Self {
            file: file.to_owned(),
            version_id,
            srid,
            expected,
            buf: Vec::with_capacity(CHUNK_BYTES + 64 * 1024),
            tx,
            summary: SinkSummary::default(),
            aliases: Vec::new(),
            progress: None,
        }
    }

    /// Reports the features read to `progress` at every chunk sent.
    pub fn report_progress(&mut self, progress: Option<std::sync::Arc<crate::IngestProgress>>) {
        self.progress = progress;
    }

    /// Renames attributes to canonical names as features are pushed (see
    /// [`crate::FieldAlias`]). Each feature's JSON is parsed once more, so this is for
    /// connectors that need it, not for every ingest.
    pub fn rename_fields(&mut self, aliases: Vec<crate::FieldAlias>) {
        self.aliases = aliases;
    }

    /// Notes an attribute name, to find the default class field (`DLBM`, any case).
    pub fn see_attribute(&mut self, name: &str) {
        if self.summary.class_field.is_none() && name.eq_ignore_ascii_case("dlbm") {
            self.summary.class_field = Some(name.to_owned());
        }
    }

    /// Whether a class field was already found (readers may stop offering names).
    pub fn has_class_field(&self) -> bool {
        self.summary.class_field.is_some()
    }

    /// The 1-based number the next pushed feature gets.
    pub fn next_feature(&self) -> u64 {
        self.summary.read + 1
    }

    /// Adds a note to the report (once, however often it is added).
    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        if !self.summary.notes.contains(&note) {
            self.summary.notes.insert(note);
        }
    }

    /// Skips the next feature, counting it as rejected with the reason.
    pub fn skip(&mut self, field: Option<&str>, reason: impl Into<String>) {
        let number = self.next_feature();
        self.summary.reject(number, field, reason);
        self.summary.read = number;
    }

    /// A feature error for the feature about to be pushed.
    pub fn feature_error(&self, field: Option<&str>, problem: impl Into<String>) -> IngestError {
        IngestError::Feature {
            file: self.file.clone(),
            feature: self.summary.read + 1,
            field: field.map(str::to_owned),
            problem: problem.into(),
        }
    }

    /// Encodes one feature: `props` appends a JSON object, `geom` drives the EWKB encoder.
    /// Features are numbered from 1 in the order they are pushed.
    pub fn push(
        &mut self,
        fid: i64,
        props: impl FnOnce(&mut Vec<u8>) -> Result<(), FieldProblem>,
        geom: impl FnOnce(&mut EwkbEncoder) -> geozero::error::Result<()>,
    ) -> Result<(), IngestError> {
        let number = self.summary.read + 1;
        let start = self.buf.len();
        self.buf.extend_from_slice(&4i16.to_be_bytes());
        for v in [self.version_id, fid] {
            self.buf.extend_from_slice(&8i32.to_be_bytes());
            self.buf.extend_from_slice(&v.to_be_bytes());
        }

        let len_at = self.field_start();
        self.buf.push(1); // jsonb binary format version
        props(&mut self.buf).map_err(|p| self.feature_error(Some(&p.field), p.problem))?;
        if !self.aliases.is_empty() {
            self.apply_aliases(len_at + 5)?;
        }
        self.field_end(len_at)?;

        let len_at = self.field_start();
        let mut enc = EwkbEncoder::new(&mut self.buf, self.srid);
        let result = geom(&mut enc);
        let (null_or_empty, multi) = (enc.is_null_or_empty(), enc.is_multi());
        let kind = match result.and_then(|()| enc.finish()) {
            Ok(kind) => kind,
            Err(_) if null_or_empty => {
                self.buf.truncate(start);
                self.skip(Some("geometry"), "null or empty geometry (skipped)");
                return Ok(());
            }
            Err(e) => return Err(self.geometry_error(e)),
        };
        self.field_end(len_at)?;
        if multi {
            self.summary.saw_multi = true;
        } else {
            self.summary.saw_single = true;
        }
        self.summary.mixed_multi = self.summary.saw_multi && self.summary.saw_single;

        if let Some((layer, want)) = &self.expected {
            if *want != kind {
                return Err(IngestError::GeometryTypeMismatch {
                    file: self.file.clone(),
                    layer: layer.clone(),
                    layer_type: want.to_string(),
                    file_type: kind.to_string(),
                    feature: Some(number),
                });
            }
        }
        match self.summary.kind {
            None => self.summary.kind = Some(kind),
            Some(first) if first != kind => {
                self.buf.truncate(start);
                return Err(IngestError::MixedGeometry {
                    file: self.file.clone(),
                    feature: number,
                    first: first.to_string(),
                    found: kind.to_string(),
                });
            }
            Some(_) => {}
        }
        self.summary.read = number;
        self.summary.features += 1;
        if self.buf.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Sends what is left; the caller adds the trailer.
    pub fn finish(mut self) -> Result<SinkSummary, IngestError> {
        self.flush()?;
        if let Some(p) = &self.progress {
            p.finish_reading();
        }
        Ok(self.summary)
    }

    /// Rewrites the JSON object written from `at` with canonical attribute names.
    fn apply_aliases(&mut self, at: usize) -> Result<(), IngestError> {
        let mut map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&self.buf[at..]).map_err(|e| {
                self.feature_error(None, format!("attributes are not a JSON object: {e}"))
            })?;
        let mut renamed = false;
        for alias in &self.aliases {
            if map.contains_key(&alias.canonical) {
                continue;
            }
            let Some(from) = alias.pick(map.keys().map(String::as_str)) else {
                continue;
            };
            let value = map.remove(&from).expect("the key was just found");
            map.insert(alias.canonical.clone(), value);
            renamed = true;
        }
        if renamed {
            self.buf.truncate(at);
            serde_json::to_writer(&mut self.buf, &map).expect("writing JSON to memory");
        }
        Ok(())
    }

    fn geometry_error(&self, e: geozero::error::GeozeroError) -> IngestError {
        let problem = match e {
            geozero::error::GeozeroError::Geometry(msg) => msg,
            geozero::error::GeozeroError::GeometryFormat => "unreadable geometry".to_owned(),
            other => other.to_string(),
        };
        self.feature_error(Some("geometry"), problem)
    }

    fn field_start(&mut self) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        at
    }

    fn field_end(&mut self, len_at: usize) -> Result<(), IngestError> {
        let len = i32::try_from(self.buf.len() - len_at - 4)
            .map_err(|_| self.feature_error(None, "a value larger than 2 GiB"))?;
        self.buf[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }

    fn flush(&mut self) -> Result<(), IngestError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if let Some(p) = &self.progress {
            p.set_rows(self.summary.read);
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES + 64 * 1024));
        self.tx
            .blocking_send(Bytes::from(chunk))
            // The writer stopped: its own error is the one reported.
            .map_err(|_| IngestError::Internal {
                file: self.file.clone(),
                detail: "the database writer stopped".into(),
            })
    }
}
