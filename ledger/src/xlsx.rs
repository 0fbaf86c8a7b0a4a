//! A minimal XLSX (Office Open XML spreadsheet) writer and reader on the `zip` crate already in
//! the workspace: an XLSX file is a zip of XML parts. The writer makes one or more sheets of
//! text and number cells (inline strings, no styles), which Excel, LibreOffice, WPS, openpyxl
//! and calamine open. The reader takes the first sheet of any workbook (shared strings, inline
//! strings, numbers, booleans, formula results) as rows of cells keyed by their sheet row
//! number, which is what a batch import needs to report a broken row by the number the user
//! sees. Dates stored as numbers are left as numbers ([`excel_date`] converts a serial).

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};

/// One cell to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_owned())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<f64> for Cell {
    fn from(n: f64) -> Self {
        Cell::Number(n)
    }
}

/// One sheet to write: its name (at most 31 characters, no `[]:*?/\`) and its rows.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<Vec<Cell>>,
}

/// A cell read back: text, or a number (dates included, as Excel serials), or a boolean.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Number(f64),
    Bool(bool),
}

impl Value {
    /// The value as text: numbers without a needless `.0`.
    pub fn to_text(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
        }
    }
}

/// The first sheet's rows: the sheet row number (from 1) and the cells by column (from 0).
pub type Rows = Vec<(usize, BTreeMap<usize, Value>)>;

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // Control characters other than tab and newlines are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// The column letters of column `i` (from 0): A, B, …, Z, AA, …
pub fn column_name(mut i: usize) -> String {
    let mut name = Vec::new();
    loop {
        name.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

fn sheet_xml(sheet: &Sheet) -> String {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    for (r, row) in sheet.rows.iter().enumerate() {
        xml.push_str(&format!(r#"<row r="{}">"#, r + 1));
        for (c, cell) in row.iter().enumerate() {
            let at = format!("{}{}", column_name(c), r + 1);
            match cell {
                Cell::Text(t) if !t.is_empty() => xml.push_str(&format!(
                    r#"<c r="{at}" t="inlineStr"><is><t xml:space="preserve">{}</t></is></c>"#,
                    escape(t)
                )),
                Cell::Number(n) if n.is_finite() => {
                    xml.push_str(&format!(r#"<c r="{at}"><v>{n}</v></c>"#))
                }
                _ => {}
            }
        }
        xml.push_str("</row>");
    }
    xml.push_str("</sheetData></worksheet>");
    xml
}

fn sheet_name(name: &str, i: usize) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect();
    if cleaned.trim().is_empty() {
        format!("Sheet{}", i + 1)
    } else {
        cleaned
    }
}

/// A workbook of `sheets` as XLSX bytes.
pub fn write(sheets: &[Sheet]) -> std::io::Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut put = |name: &str, content: &str| -> std::io::Result<()> {
        zip.start_file(name, options)
            .map_err(std::io::Error::other)?;
        zip.write_all(content.as_bytes())
    };
    let mut types = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>"#,
    );
    let mut workbook = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>"#,
    );
    let mut rels = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    );
    for (i, sheet) in sheets.iter().enumerate() {
        let n = i + 1;
        types.push_str(&format!(
            r#"<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#
        ));
        workbook.push_str(&format!(
            r#"<sheet name="{}" sheetId="{n}" r:id="rId{n}"/>"#,
            escape(&sheet_name(&sheet.name, i))
        ));
        rels.push_str(&format!(
            r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>"#
        ));
    }
    types.push_str("</Types>");
    workbook.push_str("</sheets></workbook>");
    rels.push_str("</Relationships>");
    put("[Content_Types].xml", &types)?;
    put(
        "_rels/.rels",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
    )?;
    put("xl/workbook.xml", &workbook)?;
    put("xl/_rels/workbook.xml.rels", &rels)?;
    for (i, sheet) in sheets.iter().enumerate() {
        put(
            &format!("xl/worksheets/sheet{}.xml", i + 1),
            &sheet_xml(sheet),
        )?;
    }
    let out = zip.finish().map_err(std::io::Error::other)?;
    Ok(out.into_inner())
}

/// An XML event of the tiny pull parser below.
#[derive(Debug)]
enum Event<'a> {
    Start {
        name: &'a str,
        attrs: &'a str,
        empty: bool,
    },
    End(&'a str),
    Text(String),
}

/// The local name of a possibly prefixed element name (`x:c` → `c`).
fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';') else {
            break;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Splits XML into start tags, end tags and text (declarations, comments and processing
/// instructions skipped; CDATA as text). Enough for the machine-written parts of a workbook.
fn events(xml: &str) -> Vec<Event<'_>> {
    let mut out = Vec::new();
    let mut rest = xml;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            out.push(Event::Text(unescape(rest)));
            break;
        };
        if lt > 0 {
            out.push(Event::Text(unescape(&rest[..lt])));
        }
        rest = &rest[lt..];
        if let Some(cdata) = rest.strip_prefix("<![CDATA[") {
            let end = cdata.find("]]>").unwrap_or(cdata.len());
            out.push(Event::Text(cdata[..end].to_owned()));
            rest = cdata.get(end + 3..).unwrap_or_default();
            continue;
        }
        if let Some(comment) = rest.strip_prefix("<!--") {
            let end = comment.find("-->").map_or(comment.len(), |e| e + 3);
            rest = &comment[end..];
            continue;
        }
        let Some(gt) = rest.find('>') else {
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            out.push(Event::End(local(name.trim())));
            continue;
        }
        let empty = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let (name, attrs) = tag
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((tag, ""));
        out.push(Event::Start {
            name: local(name),
            attrs,
            empty,
        });
    }
    out
}

/// The value of attribute `key` (unprefixed name) in a start tag's attribute text.
fn attr(attrs: &str, key: &str) -> Option<String> {
    let mut rest = attrs;
    while let Some(eq) = rest.find('=') {
        let name = rest[..eq].trim();
        let after = rest[eq + 1..].trim_start();
        let quote = after.chars().next()?;
        if quote != '"' && quote != '\'' {
            return None;
        }
        let end = after[1..].find(quote)? + 1;
        if local(name) == key && !name.starts_with("xmlns") {
            return Some(unescape(&after[1..end]));
        }
        rest = &after[end + 1..];
    }
    None
}

/// Why a workbook cannot be read.
fn bad(message: impl Into<String>) -> String {
    message.into()
}

fn part(zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Result<Option<String>, String> {
    let mut file = match zip.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(bad(format!("{name}: {e}"))),
    };
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|e| bad(format!("{name}: {e}")))?;
    Ok(Some(text))
}

/// The column (from 0) of a cell reference such as `AB12`.
fn column_of(reference: &str) -> Option<usize> {
    let letters: String = reference
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect();
    if letters.is_empty() {
        return None;
    }
    letters
        .bytes()
        .try_fold(0usize, |n, b| {
            Some(n * 26 + usize::from(b.to_ascii_uppercase() - b'A') + 1)
        })
        .map(|n| n - 1)
}

fn shared_strings(xml: &str) -> Vec<String> {
    let mut strings = Vec::new();
    let mut current: Option<String> = None;
    let (mut in_t, mut in_phonetic) = (false, false);
    for e in events(xml) {
        match e {
            Event::Start { name: "si", .. } => current = Some(String::new()),
            Event::End("si") => strings.push(current.take().unwrap_or_default()),
            Event::Start {
                name: "t",
                empty: false,
                ..
            } => in_t = true,
            Event::End("t") => in_t = false,
            Event::Start {
                name: "rPh",
                empty: false,
                ..
            } => in_phonetic = true,
            Event::End("rPh") => in_phonetic = false,
            Event::Text(t) if in_t && !in_phonetic => {
                if let Some(s) = current.as_mut() {
                    s.push_str(&t);
                }
            }
            _ => {}
        }
    }
    strings
}

/// The first sheet's path inside the archive, from the workbook and its relationships.
fn first_sheet(zip: &mut zip::ZipArchive<Cursor<&[u8]>>) -> Result<String, String> {
    let fallback = "xl/worksheets/sheet1.xml".to_owned();
    let Some(workbook) = part(zip, "xl/workbook.xml")? else {
        return Err(bad("not an XLSX workbook (no xl/workbook.xml)"));
    };
    let id = events(&workbook).into_iter().find_map(|e| match e {
        Event::Start {
            name: "sheet",
            attrs,
            ..
        } => attr(attrs, "id"),
        _ => None,
    });
    let (Some(id), Some(rels)) = (id, part(zip, "xl/_rels/workbook.xml.rels")?) else {
        return Ok(fallback);
    };
    let target = events(&rels).into_iter().find_map(|e| match e {
        Event::Start {
            name: "Relationship",
            attrs,
            ..
        } if attr(attrs, "Id").as_deref() == Some(id.as_str()) => attr(attrs, "Target"),
        _ => None,
    });
    Ok(match target {
        Some(t) if t.starts_with('/') => t.trim_start_matches('/').to_owned(),
        Some(t) => format!("xl/{}", t.trim_start_matches("./")),
        None => fallback,
    })
}

/// Reads the first sheet of the workbook `bytes`. Rows without any value are left out.
pub fn read(bytes: &[u8]) -> Result<Rows, String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| bad(format!("not an XLSX file (not a zip archive: {e})")))?;
    let strings = part(&mut zip, "xl/sharedStrings.xml")?
        .map(|s| shared_strings(&s))
        .unwrap_or_default();
    let path = first_sheet(&mut zip)?;
    let sheet = part(&mut zip, &path)?.ok_or_else(|| {
        bad(format!(
            "the workbook names its first sheet {path}, which is missing"
        ))
    })?;
    let mut rows: Rows = Vec::new();
    let mut row: Option<(usize, BTreeMap<usize, Value>)> = None;
    let mut next_row = 1;
    // The cell being read: column, type, its <v> text and its inline string.
    let mut cell: Option<(usize, String)> = None;
    let mut next_column = 0;
    let (mut value, mut inline) = (None::<String>, None::<String>);
    let (mut in_v, mut in_t) = (false, false);
    for e in events(&sheet) {
        match e {
            Event::Start {
                name: "row",
                attrs,
                empty,
            } => {
                let r = attr(attrs, "r")
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(next_row);
                next_row = r + 1;
                next_column = 0;
                if !empty {
                    row = Some((r, BTreeMap::new()));
                }
            }
            Event::End("row") => {
                if let Some((r, cells)) = row.take() {
                    if !cells.is_empty() {
                        rows.push((r, cells));
                    }
                }
            }
            Event::Start {
                name: "c",
                attrs,
                empty,
            } => {
                let column = attr(attrs, "r")
                    .and_then(|r| column_of(&r))
                    .unwrap_or(next_column);
                next_column = column + 1;
                if !empty {
                    cell = Some((column, attr(attrs, "t").unwrap_or_default()));
                    value = None;
                    inline = None;
                }
            }
            Event::Start {
                name: "v",
                empty: false,
                ..
            } => in_v = true,
            Event::End("v") => in_v = false,
            Event::Start {
                name: "is",
                empty: false,
                ..
            } => inline = Some(String::new()),
            Event::Start {
                name: "t",
                empty: false,
                ..
            } => in_t = true,
            Event::End("t") => in_t = false,
            Event::Text(t) if in_v => value.get_or_insert_with(String::new).push_str(&t),
            Event::Text(t) if in_t => {
                if let Some(s) = inline.as_mut() {
                    s.push_str(&t);
                }
            }
            Event::End("c") => {
                let Some((column, kind)) = cell.take() else {
                    continue;
                };
                let v = match kind.as_str() {
                    "s" => value
                        .as_deref()
                        .and_then(|i| i.trim().parse::<usize>().ok())
                        .and_then(|i| strings.get(i).cloned())
                        .map(Value::Text),
                    "inlineStr" => inline.take().map(Value::Text),
                    "str" | "e" => value.take().map(Value::Text),
                    "b" => value.as_deref().map(|b| Value::Bool(b.trim() == "1")),
                    _ => value.as_deref().and_then(|n| {
                        n.trim()
                            .parse::<f64>()
                            .ok()
                            .map(Value::Number)
                            .or_else(|| Some(Value::Text(n.to_owned())))
                    }),
                };
                if let (Some(v), Some((_, cells))) = (v, row.as_mut()) {
                    if !matches!(&v, Value::Text(t) if t.is_empty()) {
                        cells.insert(column, v);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(rows)
}

/// The calendar date of an Excel date serial (1900 date system: day 1 = 1900-01-01, with
/// Excel's phantom 1900-02-29), as `YYYY-MM-DD`; `None` outside 1900–2200.
pub fn excel_date(serial: f64) -> Option<String> {
    if !(61.0..=110_000.0).contains(&serial) {
        return None;
    }
    // Days since 1970-01-01: serial 25569 is 1970-01-01.
    let days = serial.floor() as i64 - 25_569;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_workbook_reads_back_cell_for_cell() {
        let sheet = Sheet {
            name: "线索".into(),
            rows: vec![
                vec!["clue_id".into(), "lon".into(), "note".into()],
                vec!["LD-1".into(), 101.25.into(), "a <b> & \"c\" 中文".into()],
                vec![],
                vec!["LD-2".into(), Cell::Empty, "x".into()],
            ],
        };
        let bytes = write(&[sheet]).unwrap();
        let rows = read(&bytes).unwrap();
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert_eq!(rows[0].0, 1);
        assert_eq!(rows[1].1[&1], Value::Number(101.25));
        assert_eq!(rows[1].1[&2], Value::Text("a <b> & \"c\" 中文".into()));
        assert_eq!(
            rows[2].0, 4,
            "the empty row 3 is skipped but numbering kept"
        );
        assert!(!rows[2].1.contains_key(&1));
    }

    #[test]
    fn shared_strings_rich_text_and_formula_results_are_read_and_phonetic_hints_skipped() {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default();
        let parts = [
            (
                "xl/workbook.xml",
                r#"<workbook xmlns:r="r"><sheets><sheet name="S" sheetId="1" r:id="rId7"/></sheets></workbook>"#,
            ),
            (
                "xl/_rels/workbook.xml.rels",
                r#"<Relationships><Relationship Id="rId7" Target="/xl/worksheets/data.xml"/></Relationships>"#,
            ),
            (
                "xl/sharedStrings.xml",
                r#"<sst><si><t>线索编号</t></si><si><r><t>LD</t></r><r><t xml:space="preserve">-1</t></r><rPh><t>ひ</t></rPh></si></sst>"#,
            ),
            (
                "xl/worksheets/data.xml",
                r#"<x:worksheet xmlns:x="m"><x:sheetData><x:row r="3"><x:c r="B3" t="s"><x:v>0</x:v></x:c></x:row><x:row r="4"><x:c r="B4" t="s"><x:v>1</x:v></x:c><x:c r="C4" t="str"><x:f>A1</x:f><x:v>x&amp;y</x:v></x:c><x:c r="D4" t="b"><x:v>1</x:v></x:c><x:c r="E4"/></x:row></x:sheetData></x:worksheet>"#,
            ),
        ];
        for (name, text) in parts {
            zip.start_file(name, o).unwrap();
            zip.write_all(text.as_bytes()).unwrap();
        }
        let bytes = zip.finish().unwrap().into_inner();
        let rows = read(&bytes).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, 3);
        assert_eq!(rows[0].1[&1], Value::Text("线索编号".into()));
        assert_eq!(rows[1].1[&1], Value::Text("LD-1".into()));
        assert_eq!(rows[1].1[&2], Value::Text("x&y".into()));
        assert_eq!(rows[1].1[&3], Value::Bool(true));
        assert_eq!(rows[1].1.len(), 3);
    }

    #[test]
    fn columns_are_named_like_a_spreadsheet_and_read_back() {
        for (i, name) in [
            (0, "A"),
            (25, "Z"),
            (26, "AA"),
            (27, "AB"),
            (701, "ZZ"),
            (702, "AAA"),
        ] {
            assert_eq!(column_name(i), name);
            assert_eq!(column_of(&format!("{name}7")), Some(i));
        }
    }

    #[test]
    fn excel_serials_are_calendar_dates() {
        assert_eq!(excel_date(45_352.0).as_deref(), Some("2024-03-01"));
        assert_eq!(excel_date(25_569.0).as_deref(), Some("1970-01-01"));
        assert_eq!(excel_date(45_351.5).as_deref(), Some("2024-02-29"));
        assert_eq!(excel_date(12.0), None);
    }

    #[test]
    fn entities_and_prefixed_names_are_understood_and_junk_is_refused() {
        assert_eq!(unescape("a&amp;b&#20013;&#x6587;&lt;"), "a&b中文<");
        assert_eq!(attr(r#"r="B2" t='s'"#, "t").as_deref(), Some("s"));
        assert_eq!(attr(r#"x:r="B2""#, "r").as_deref(), Some("B2"));
        assert!(read(b"not a zip").unwrap_err().contains("not an XLSX"));
    }
}
