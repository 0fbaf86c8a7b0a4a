//! Text encodings of department files: names as written in a `.cpg` or given with
//! `--encoding`, the DBF language-driver byte, and a detection for files that say nothing.
//!
//! Detection prefers GB18030 over Latin-1 when the bytes read as Chinese: Latin-1 text such as
//! `Montréal` also decodes as GB18030 (`é` followed by an ASCII letter is a valid two-byte
//! code), but then the lead byte is followed by an ASCII byte, while GB2312 characters (the
//! everyday Chinese set) have both bytes at 0xA1 or above.

use encoding_rs::Encoding;

/// The encoding used to decode text, and how it was found (for the report).
#[derive(Debug, Clone)]
pub struct TextEncoding {
    pub encoding: &'static Encoding,
    /// e.g. `.cpg file (CP936)`, `DBF language driver 0x4D`, `--encoding`, `detected: ...`.
    pub source: String,
}

impl TextEncoding {
    /// The name shown in reports (`UTF-8`, `GBK`, `GB18030`, `windows-1252`, ...).
    pub fn name(&self) -> &'static str {
        self.encoding.name()
    }
}

/// The encoding a label names: WHATWG labels (`utf-8`, `gbk`, `gb18030`, `latin1`,
/// `iso-8859-1`, `big5`, ...) plus the code-page spellings ArcGIS and GDAL write into `.cpg`
/// files (`CP936`, `936`, `65001`, `88591`, `ANSI 1252`, ...).
///
/// ISO-8859-1 decodes as windows-1252, as the WHATWG standard does: the two differ only at
/// 0x80–0x9F, which are control characters in ISO-8859-1 and never meant in attribute text.
pub fn for_label(label: &str) -> Option<&'static Encoding> {
    let l = label.trim().trim_start_matches('\u{feff}').trim();
    let upper = l.to_ascii_uppercase();
    let compact: String = upper
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let by_code_page = |cp: &str| -> Option<&'static Encoding> {
        Some(match cp {
            "65001" | "UTF8" => encoding_rs::UTF_8,
            "936" | "CP936" | "GBK" | "GB2312" => encoding_rs::GBK,
            "54936" | "GB18030" => encoding_rs::GB18030,
            "950" | "CP950" | "BIG5" => encoding_rs::BIG5,
            "932" | "CP932" => encoding_rs::SHIFT_JIS,
            "949" | "CP949" => encoding_rs::EUC_KR,
            "874" | "CP874" => encoding_rs::WINDOWS_874,
            "1250" | "1251" | "1252" | "1253" | "1254" | "1255" | "1256" | "1257" | "1258" => {
                Encoding::for_label(format!("windows-{cp}").as_bytes())?
            }
            "88591" | "ISO88591" | "LATIN1" => encoding_rs::WINDOWS_1252,
            "866" | "CP866" => encoding_rs::IBM866,
            _ => return None,
        })
    };
    by_code_page(&compact)
        .or_else(|| {
            compact
                .strip_prefix("ANSI")
                .or_else(|| compact.strip_prefix("CP"))
                .or_else(|| compact.strip_prefix("WINDOWS"))
                .and_then(by_code_page)
        })
        .or_else(|| Encoding::for_label(l.as_bytes()))
}

/// The encoding a DBF language-driver id (header byte 29) names, where encoding_rs has it.
/// 0 (none) and 0x57 ("the system's ANSI code page") name nothing.
pub fn for_ldid(ldid: u8) -> Option<&'static Encoding> {
    Some(match ldid {
        0x03 | 0x58 | 0x59 => encoding_rs::WINDOWS_1252,
        0x4D | 0x7A => encoding_rs::GBK,
        0x4E | 0x79 => encoding_rs::EUC_KR,
        0x4F | 0x78 => encoding_rs::BIG5,
        0x13 | 0x7B => encoding_rs::SHIFT_JIS,
        0x50 | 0x7C => encoding_rs::WINDOWS_874,
        0x26 | 0x65 => encoding_rs::IBM866,
        0xC8 => encoding_rs::WINDOWS_1250,
        0xC9 => encoding_rs::WINDOWS_1251,
        0xCA => encoding_rs::WINDOWS_1254,
        0xCB => encoding_rs::WINDOWS_1253,
        0xCC => encoding_rs::WINDOWS_1257,
        _ => return None,
    })
}

/// Counts gathered over a sample of text bytes.
#[derive(Debug, Default)]
pub struct Detector {
    non_ascii: u64,
    utf8_ok: bool,
    started: bool,
    gb_ok: bool,
    /// Non-ASCII characters GB18030 decodes to CJK ideographs or CJK punctuation.
    gb_cjk: u64,
    gb_chars: u64,
    /// Two-byte codes whose second byte is 0xA1 or above (GB2312's range) or four-byte codes.
    gb_high_pairs: u64,
    /// Two-byte codes whose second byte is ASCII: typical of Latin-1 text read as GB18030.
    gb_low_pairs: u64,
}

impl Detector {
    /// A detector that has seen nothing.
    pub fn new() -> Self {
        Self {
            utf8_ok: true,
            gb_ok: true,
            ..Self::default()
        }
    }

    /// Looks at one text value (a field name or a field's bytes).
    pub fn sample(&mut self, bytes: &[u8]) {
        self.started = true;
        if bytes.is_ascii() {
            return;
        }
        self.non_ascii += bytes.iter().filter(|b| !b.is_ascii()).count() as u64;
        if self.utf8_ok && std::str::from_utf8(bytes).is_err() {
            self.utf8_ok = false;
        }
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b < 0x80 || i + 1 == bytes.len() {
                i += 1;
                continue;
            }
            match bytes[i + 1] {
                0x30..=0x39 => {
                    self.gb_high_pairs += 1;
                    i += 4;
                }
                0xA1.. => {
                    self.gb_high_pairs += 1;
                    i += 2;
                }
                0x80.. => i += 2,
                _ => {
                    self.gb_low_pairs += 1;
                    i += 2;
                }
            }
        }
        if self.gb_ok {
            match encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(bytes) {
                Some(text) => {
                    for c in text.chars().filter(|c| !c.is_ascii()) {
                        self.gb_chars += 1;
                        if is_cjk(c) {
                            self.gb_cjk += 1;
                        }
                    }
                }
                None => self.gb_ok = false,
            }
        }
    }

    /// The verdict: UTF-8 when every sample is valid UTF-8 (or plain ASCII), GB18030 when the
    /// samples decode as GB18030 into at least 90% CJK characters, else windows-1252 (Latin-1).
    pub fn verdict(&self) -> TextEncoding {
        if self.non_ascii == 0 {
            return TextEncoding {
                encoding: encoding_rs::UTF_8,
                source: "detected: the text is plain ASCII".into(),
            };
        }
        if self.utf8_ok {
            return TextEncoding {
                encoding: encoding_rs::UTF_8,
                source: format!(
                    "detected: {} non-ASCII bytes, all valid UTF-8",
                    self.non_ascii
                ),
            };
        }
        let pairs = self.gb_high_pairs + self.gb_low_pairs;
        if self.gb_ok
            && self.gb_chars > 0
            && self.gb_cjk * 10 >= self.gb_chars * 9
            && self.gb_high_pairs * 10 >= pairs * 9
        {
            return TextEncoding {
                encoding: encoding_rs::GB18030,
                source: format!(
                    "detected: {} of {} non-ASCII characters read as Chinese in GB18030",
                    self.gb_cjk, self.gb_chars
                ),
            };
        }
        TextEncoding {
            encoding: encoding_rs::WINDOWS_1252,
            source: format!(
                "detected: not UTF-8{}, so Latin-1 (windows-1252)",
                if self.gb_ok {
                    " and not Chinese in GB18030"
                } else {
                    " nor GB18030"
                }
            ),
        }
    }
}

/// CJK ideographs, CJK symbols and punctuation, full-width forms.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3000..=0x303F | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF
        | 0x20000..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpg_labels_name_their_encodings() {
        assert_eq!(for_label("UTF-8"), Some(encoding_rs::UTF_8));
        assert_eq!(for_label("CP936"), Some(encoding_rs::GBK));
        assert_eq!(for_label("936"), Some(encoding_rs::GBK));
        assert_eq!(for_label("GBK\r\n"), Some(encoding_rs::GBK));
        assert_eq!(for_label("gb18030"), Some(encoding_rs::GB18030));
        assert_eq!(for_label("ISO-8859-1"), Some(encoding_rs::WINDOWS_1252));
        assert_eq!(for_label("88591"), Some(encoding_rs::WINDOWS_1252));
        assert_eq!(for_label("ANSI 1252"), Some(encoding_rs::WINDOWS_1252));
        assert_eq!(for_label("65001"), Some(encoding_rs::UTF_8));
        assert_eq!(for_label("klingon"), None);
    }

    #[test]
    fn chinese_bytes_are_detected_as_gb18030_and_accented_latin_as_latin_1() {
        let (gbk, _, _) = encoding_rs::GBK.encode("天然牧草地 山丹县");
        let mut d = Detector::new();
        d.sample(&gbk);
        assert_eq!(d.verdict().encoding, encoding_rs::GB18030);

        let (latin, _, _) = encoding_rs::WINDOWS_1252.encode("Montréal Château Señora");
        let mut d = Detector::new();
        d.sample(&latin);
        assert_eq!(d.verdict().encoding, encoding_rs::WINDOWS_1252);

        let mut d = Detector::new();
        d.sample("草地".as_bytes());
        assert_eq!(d.verdict().encoding, encoding_rs::UTF_8);
    }
}
