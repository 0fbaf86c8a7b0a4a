//! dBASE (`.dbf`) attribute tables, read record by record as raw bytes so that text is decoded
//! with the encoding we chose (not the reader's guess), and written as a JSON object.
//!
//! Types: `C` text (trailing blanks trimmed; all blanks is null, as shapelib reads it), `N`/`F`
//! numbers (integers when the field has no decimals and the value fits, else reals; blanks or
//! `*` overflow markers are null), `L` booleans (`?` is null), `D` dates as `YYYY-MM-DD`
//! strings, `I` 32-bit integers, `O`/`B` doubles, `@` timestamps. Memo fields (`M`), whose
//! text lives in a separate file, are null with a note.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use encoding_rs::Encoding;

use crate::sink::FieldProblem;
use crate::IngestError;

/// One column of the table.
#[derive(Debug, Clone)]
pub struct DbfField {
    pub name: String,
    pub raw_name: Vec<u8>,
    pub kind: u8,
    pub offset: usize,
    pub len: usize,
    pub decimals: u8,
}

/// An opened `.dbf`, positioned at its first record.
pub struct DbfReader {
    file: PathBuf,
    input: BufReader<std::fs::File>,
    pub records: u64,
    pub record_len: usize,
    pub ldid: u8,
    pub fields: Vec<DbfField>,
    read: u64,
}

impl DbfReader {
    /// Reads the header and field descriptors.
    pub fn open(file: &Path) -> Result<Self, IngestError> {
        let malformed = |detail: String| IngestError::Malformed {
            file: file.to_owned(),
            detail,
        };
        let f = std::fs::File::open(file).map_err(IngestError::io(file))?;
        let size = f.metadata().map_err(IngestError::io(file))?.len();
        let mut input = BufReader::with_capacity(1 << 16, f);
        let mut head = [0u8; 32];
        input
            .read_exact(&mut head)
            .map_err(|_| malformed("the .dbf is shorter than its 32-byte header".into()))?;
        let records = u64::from(u32::from_le_bytes(head[4..8].try_into().expect("4 bytes")));
        let header_len = usize::from(u16::from_le_bytes([head[8], head[9]]));
        let record_len = usize::from(u16::from_le_bytes([head[10], head[11]]));
        let ldid = head[29];
        if header_len < 33 || record_len == 0 {
            return Err(malformed(format!(
                "the .dbf header is inconsistent (header {header_len} bytes, records {record_len} bytes)"
            )));
        }
        let mut rest = vec![0u8; header_len - 32];
        input
            .read_exact(&mut rest)
            .map_err(|_| malformed("the .dbf ends inside its header".into()))?;
        let mut fields = Vec::new();
        let mut offset = 1; // the deletion flag
        for desc in rest.chunks(32) {
            if desc[0] == 0x0D || desc.len() < 32 {
                break;
            }
            let raw_name: Vec<u8> = desc[..11].iter().copied().take_while(|b| *b != 0).collect();
            let len = usize::from(desc[16]);
            fields.push(DbfField {
                name: String::new(),
                raw_name,
                kind: desc[11].to_ascii_uppercase(),
                offset,
                len,
                decimals: desc[17],
            });
            offset += len;
        }
        if offset > record_len {
            return Err(malformed(format!(
                "the .dbf fields need {offset} bytes per record but records are {record_len} bytes"
            )));
        }
        let needed = header_len as u64 + records * record_len as u64;
        if size < needed {
            return Err(malformed(format!(
                "the .dbf declares {records} records of {record_len} bytes ({needed} bytes with the header) but holds {size} bytes"
            )));
        }
        Ok(Self {
            file: file.to_owned(),
            input,
            records,
            record_len,
            ldid,
            fields,
            read: 0,
        })
    }

    /// Names the fields in `encoding`, making repeated names unique with a `_2` suffix.
    pub fn decode_names(&mut self, encoding: &'static Encoding) {
        let mut seen = std::collections::HashSet::new();
        for f in &mut self.fields {
            let (name, _) = encoding.decode_without_bom_handling(&f.raw_name);
            let base = name.trim().to_owned();
            let mut name = base.clone();
            let mut n = 2;
            while !seen.insert(name.clone()) {
                name = format!("{base}_{n}");
                n += 1;
            }
            f.name = name;
        }
    }

    /// Reads the next record into `buf`; `false` after the last one. Deleted records are
    /// returned too (the caller decides): `buf[0] == b'*'`.
    pub fn next_record(&mut self, buf: &mut Vec<u8>) -> Result<bool, IngestError> {
        if self.read == self.records {
            return Ok(false);
        }
        buf.resize(self.record_len, 0);
        self.input
            .read_exact(buf)
            .map_err(|e| IngestError::Malformed {
                file: self.file.clone(),
                detail: format!("the .dbf ends inside record {}: {e}", self.read + 1),
            })?;
        self.read += 1;
        Ok(true)
    }
}

/// Writes one record as a JSON object. Returns whether a text value held bytes invalid in
/// `encoding` (replaced by U+FFFD).
pub fn write_record(
    buf: &mut Vec<u8>,
    fields: &[DbfField],
    record: &[u8],
    encoding: &'static Encoding,
) -> Result<bool, FieldProblem> {
    let mut replaced = false;
    buf.push(b'{');
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        serde_json::to_writer(&mut *buf, &f.name).expect("writing to memory");
        buf.push(b':');
        let raw = &record[f.offset..f.offset + f.len];
        let text = || std::str::from_utf8(raw).unwrap_or("").trim();
        match f.kind {
            b'C' | b'V' => {
                let trimmed = trim_blanks(raw);
                if trimmed.is_empty() {
                    buf.extend_from_slice(b"null");
                } else {
                    let (s, bad) = encoding.decode_without_bom_handling(trimmed);
                    replaced |= bad;
                    serde_json::to_writer(&mut *buf, s.as_ref()).expect("writing to memory");
                }
            }
            b'N' | b'F' => {
                let t = text();
                if t.is_empty() || t.starts_with('*') {
                    buf.extend_from_slice(b"null");
                } else if let Some(n) = t.parse::<i64>().ok().filter(|_| f.decimals == 0) {
                    serde_json::to_writer(&mut *buf, &n).expect("writing to memory");
                } else {
                    match t.parse::<f64>() {
                        Ok(x) if x.is_finite() => {
                            serde_json::to_writer(&mut *buf, &x).expect("writing to memory");
                        }
                        _ => {
                            return Err(FieldProblem {
                                field: f.name.clone(),
                                problem: format!("{t:?} is not a number"),
                            });
                        }
                    }
                }
            }
            b'L' => buf.extend_from_slice(match raw.first() {
                Some(b'T' | b't' | b'Y' | b'y') => b"true",
                Some(b'F' | b'f' | b'N' | b'n') => b"false",
                _ => b"null",
            }),
            b'D' => {
                let t = text();
                if t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()) && t != "00000000" {
                    let date = format!("{}-{}-{}", &t[..4], &t[4..6], &t[6..]);
                    serde_json::to_writer(&mut *buf, &date).expect("writing to memory");
                } else {
                    buf.extend_from_slice(b"null");
                }
            }
            b'I' if f.len == 4 => {
                let n = i32::from_le_bytes(raw.try_into().expect("4 bytes"));
                serde_json::to_writer(&mut *buf, &n).expect("writing to memory");
            }
            b'O' | b'B' if f.len == 8 => {
                let x = f64::from_le_bytes(raw.try_into().expect("8 bytes"));
                if x.is_finite() {
                    serde_json::to_writer(&mut *buf, &x).expect("writing to memory");
                } else {
                    buf.extend_from_slice(b"null");
                }
            }
            b'M' => buf.extend_from_slice(b"null"),
            _ => {
                let trimmed = trim_blanks(raw);
                if trimmed.is_empty() {
                    buf.extend_from_slice(b"null");
                } else {
                    let (s, bad) = encoding.decode_without_bom_handling(trimmed);
                    replaced |= bad;
                    serde_json::to_writer(&mut *buf, s.as_ref()).expect("writing to memory");
                }
            }
        }
    }
    buf.push(b'}');
    Ok(replaced)
}

/// Trailing blanks and NULs (and leading blanks) removed.
fn trim_blanks(raw: &[u8]) -> &[u8] {
    let end = raw
        .iter()
        .rposition(|b| *b != b' ' && *b != 0)
        .map_or(0, |p| p + 1);
    let start = raw[..end].iter().position(|b| *b != b' ').unwrap_or(end);
    &raw[start..end]
}
