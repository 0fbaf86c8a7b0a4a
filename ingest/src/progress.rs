//! How far an ingest has come, shared between the reader thread (which counts features) and
//! whoever watches it (the job worker writing the job row, the CLI's progress bar).
//!
//! The reader counts features as it encodes them. Where the format says up front how many
//! features it holds (a GeoPackage table's row count), the fraction of features read is also
//! the fraction of the file read, and `bytes_read` is that fraction of the file's size; other
//! formats report rows only until they finish.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Progress counters of one ingest; cheap to update from the reader thread.
#[derive(Debug, Default)]
pub struct IngestProgress {
    rows: AtomicU64,
    expected_rows: AtomicU64,
    file_bytes: AtomicU64,
    done: AtomicBool,
}

/// One reading of [`IngestProgress`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ProgressSnapshot {
    /// Features read so far.
    pub rows: u64,
    /// Bytes of the file read so far, when the format lets us know.
    pub bytes_read: Option<u64>,
    /// The file's size in bytes (0 before the ingest opened it).
    pub bytes_total: u64,
    /// 0–100, when known.
    pub percent: Option<f32>,
}

impl IngestProgress {
    /// A fresh counter, to put into [`crate::IngestRequest::progress`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Called once the file is open: its size and, if the format declares it, its feature count.
    pub(crate) fn start(&self, file_bytes: u64, expected_rows: Option<u64>) {
        self.file_bytes.store(file_bytes, Ordering::Relaxed);
        self.expected_rows
            .store(expected_rows.unwrap_or(0), Ordering::Relaxed);
    }

    /// Called by the reader as it sends rows to the database.
    pub(crate) fn set_rows(&self, rows: u64) {
        self.rows.store(rows, Ordering::Relaxed);
    }

    /// Called when every feature has been read.
    pub(crate) fn finish_reading(&self) {
        self.done.store(true, Ordering::Relaxed);
    }

    /// The current reading.
    pub fn snapshot(&self) -> ProgressSnapshot {
        let rows = self.rows.load(Ordering::Relaxed);
        let expected = self.expected_rows.load(Ordering::Relaxed);
        let bytes_total = self.file_bytes.load(Ordering::Relaxed);
        let fraction = if self.done.load(Ordering::Relaxed) {
            Some(1.0)
        } else if expected > 0 {
            Some((rows as f64 / expected as f64).min(1.0))
        } else {
            None
        };
        ProgressSnapshot {
            rows,
            bytes_read: fraction.map(|f| (f * bytes_total as f64).round() as u64),
            bytes_total,
            percent: fraction.map(|f| (f * 100.0) as f32),
        }
    }
}
