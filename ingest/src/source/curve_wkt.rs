//! WKT with curve types (CIRCULARSTRING, COMPOUNDCURVE, CURVEPOLYGON, MULTICURVE,
//! MULTISURFACE), which geozero's WKT reader does not know, turned into ISO WKB so that it
//! goes through geozero's WKB reader and [`super::curves::Linearise`] exactly like a
//! GeoPackage's curves. Text without a curve keyword is left to geozero ([`has_curve`]).
//!
//! Accepted: every OGC simple-feature and curve type, `Z`/`M`/`ZM` tags (or a third and fourth
//! ordinate without a tag), `EMPTY`; inside a COMPOUNDCURVE, CURVEPOLYGON or MULTICURVE an
//! untagged `(…)` member is a LineString, inside a MULTISURFACE a Polygon (as in ISO SQL/MM).

/// The curve keywords that send a WKT through [`to_wkb`].
const CURVE_WORDS: &[&[u8]] = &[
    b"CIRCULARSTRING",
    b"COMPOUNDCURVE",
    b"CURVEPOLYGON",
    b"MULTICURVE",
    b"MULTISURFACE",
];

/// Whether `wkt` names a curve type anywhere (a geometry collection may hold one).
pub fn has_curve(wkt: &[u8]) -> bool {
    CURVE_WORDS.iter().any(|word| {
        wkt.windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word))
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Point = 1,
    LineString = 2,
    Polygon = 3,
    MultiPoint = 4,
    MultiLineString = 5,
    MultiPolygon = 6,
    GeometryCollection = 7,
    CircularString = 8,
    CompoundCurve = 9,
    CurvePolygon = 10,
    MultiCurve = 11,
    MultiSurface = 12,
}

impl Kind {
    fn from_word(word: &[u8]) -> Option<Self> {
        const ALL: &[(&[u8], Kind)] = &[
            (b"POINT", Kind::Point),
            (b"LINESTRING", Kind::LineString),
            (b"POLYGON", Kind::Polygon),
            (b"MULTIPOINT", Kind::MultiPoint),
            (b"MULTILINESTRING", Kind::MultiLineString),
            (b"MULTIPOLYGON", Kind::MultiPolygon),
            (b"GEOMETRYCOLLECTION", Kind::GeometryCollection),
            (b"CIRCULARSTRING", Kind::CircularString),
            (b"COMPOUNDCURVE", Kind::CompoundCurve),
            (b"CURVEPOLYGON", Kind::CurvePolygon),
            (b"MULTICURVE", Kind::MultiCurve),
            (b"MULTISURFACE", Kind::MultiSurface),
        ];
        ALL.iter()
            .find(|(w, _)| w.eq_ignore_ascii_case(word))
            .map(|(_, k)| *k)
    }
}

/// Ordinates per position: 2, 3 (Z or M) or 4; `z`/`m` name which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dims {
    z: bool,
    m: bool,
}

impl Dims {
    fn count(self) -> usize {
        2 + usize::from(self.z) + usize::from(self.m)
    }

    /// The ISO WKB type-code offset.
    fn offset(self) -> u32 {
        match (self.z, self.m) {
            (false, false) => 0,
            (true, false) => 1000,
            (false, true) => 2000,
            (true, true) => 3000,
        }
    }
}

/// The WKT's geometry as little-endian ISO WKB, and whether it had Z or M values; `Err` says
/// what is wrong with the text.
pub fn to_wkb(wkt: &[u8]) -> Result<(Vec<u8>, bool), String> {
    let mut p = Parser {
        s: wkt,
        pos: 0,
        out: Vec::with_capacity(wkt.len()),
        dims: None,
    };
    p.tagged(None)?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(p.error("unexpected text after the geometry"));
    }
    let zm = p.dims.is_some_and(|d| d.z || d.m);
    Ok((p.out, zm))
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    out: Vec<u8>,
    /// The dimensions of the whole geometry, fixed by the first tag or position.
    dims: Option<Dims>,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> String {
        let at: String = String::from_utf8_lossy(&self.s[self.pos.min(self.s.len())..])
            .chars()
            .take(20)
            .collect();
        format!("{what} at character {} ({at:?})", self.pos + 1)
    }

    fn skip_ws(&mut self) {
        while self.s.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected '{}'", c as char)))
        }
    }

    fn word(&mut self) -> &[u8] {
        self.skip_ws();
        let start = self.pos;
        while self.s.get(self.pos).is_some_and(u8::is_ascii_alphabetic) {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    /// `EMPTY` next (consumed)?
    fn empty(&mut self) -> bool {
        let save = self.pos;
        if self.word().eq_ignore_ascii_case(b"EMPTY") {
            true
        } else {
            self.pos = save;
            false
        }
    }

    fn u32_placeholder(&mut self) -> usize {
        let at = self.out.len();
        self.out.extend_from_slice(&[0; 4]);
        at
    }

    fn patch(&mut self, at: usize, n: u32) {
        self.out[at..at + 4].copy_from_slice(&n.to_le_bytes());
    }

    fn header(&mut self, kind: Kind) {
        let dims = self.dims.unwrap_or(Dims { z: false, m: false });
        self.out.push(1);
        self.out
            .extend_from_slice(&(kind as u32 + dims.offset()).to_le_bytes());
    }

    /// A tagged geometry (`KEYWORD [Z|M|ZM] (EMPTY | body)`), of one of `allowed` kinds.
    fn tagged(&mut self, allowed: Option<&[Kind]>) -> Result<(), String> {
        let start = self.pos;
        let word = self.word().to_vec();
        let kind = Kind::from_word(&word).ok_or_else(|| {
            self.pos = start;
            self.error("expected a geometry type")
        })?;
        if allowed.is_some_and(|a| !a.contains(&kind)) {
            self.pos = start;
            return Err(self.error(&format!("{kind:?} is not allowed here")));
        }
        let save = self.pos;
        let tag = self.word().to_ascii_uppercase();
        let tagged_dims = match tag.as_slice() {
            b"Z" => Some(Dims { z: true, m: false }),
            b"M" => Some(Dims { z: false, m: true }),
            b"ZM" => Some(Dims { z: true, m: true }),
            _ => {
                self.pos = save;
                None
            }
        };
        if self.dims.is_none() {
            self.dims = tagged_dims.or_else(|| self.first_position_dims());
        } else if tagged_dims.is_some() && tagged_dims != self.dims {
            return Err(self.error("mixed coordinate dimensions"));
        }
        self.body(kind)
    }

    /// The dimensions of the first position in the rest of the text, by counting its numbers.
    fn first_position_dims(&self) -> Option<Dims> {
        let rest = &self.s[self.pos..];
        let mut i = rest.iter().position(|&c| c == b'(')?;
        while rest
            .get(i)
            .is_some_and(|&c| c == b'(' || c.is_ascii_whitespace())
        {
            i += 1;
        }
        let end = i + rest[i..].iter().position(|&c| c == b',' || c == b')')?;
        let numbers = rest[i..end]
            .split(u8::is_ascii_whitespace)
            .filter(|t| !t.is_empty())
            .count();
        Some(match numbers {
            3 => Dims { z: true, m: false },
            4 => Dims { z: true, m: true },
            _ => Dims { z: false, m: false },
        })
    }

    fn body(&mut self, kind: Kind) -> Result<(), String> {
        self.header(kind);
        if kind == Kind::Point {
            if self.empty() {
                let n = self.dims.map_or(2, Dims::count);
                for _ in 0..n {
                    self.out.extend_from_slice(&f64::NAN.to_le_bytes());
                }
                return Ok(());
            }
            self.expect(b'(')?;
            self.position()?;
            return self.expect(b')');
        }
        let count_at = self.u32_placeholder();
        if self.empty() {
            return Ok(());
        }
        self.expect(b'(')?;
        let mut n = 0u32;
        loop {
            match kind {
                Kind::LineString | Kind::CircularString => self.position()?,
                Kind::Polygon => self.ring()?,
                Kind::MultiPoint => {
                    self.header(Kind::Point);
                    if self.peek() == Some(b'(') {
                        self.pos += 1;
                        self.position()?;
                        self.expect(b')')?;
                    } else {
                        self.position()?;
                    }
                }
                Kind::MultiLineString => self.untagged(Kind::LineString)?,
                Kind::MultiPolygon => self.untagged(Kind::Polygon)?,
                Kind::GeometryCollection => self.tagged(None)?,
                Kind::CompoundCurve => {
                    self.member(Kind::LineString, &[Kind::LineString, Kind::CircularString])?
                }
                Kind::CurvePolygon | Kind::MultiCurve => self.member(
                    Kind::LineString,
                    &[Kind::LineString, Kind::CircularString, Kind::CompoundCurve],
                )?,
                Kind::MultiSurface => {
                    self.member(Kind::Polygon, &[Kind::Polygon, Kind::CurvePolygon])?
                }
                Kind::Point => unreachable!("handled above"),
            }
            n += 1;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b')') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.error("expected ',' or ')'")),
            }
        }
        self.patch(count_at, n);
        Ok(())
    }

    /// An untagged member `(…)` written as a `kind`, or a tagged one of `allowed`.
    fn member(&mut self, untagged: Kind, allowed: &[Kind]) -> Result<(), String> {
        if self.peek() == Some(b'(') {
            self.untagged(untagged)
        } else {
            self.tagged(Some(allowed))
        }
    }

    /// A member without its keyword (a MULTIPOLYGON's polygons, say): header and body.
    fn untagged(&mut self, kind: Kind) -> Result<(), String> {
        self.body(kind)
    }

    /// A polygon ring: a count and positions, no header.
    fn ring(&mut self) -> Result<(), String> {
        let count_at = self.u32_placeholder();
        self.expect(b'(')?;
        let mut n = 0u32;
        loop {
            self.position()?;
            n += 1;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b')') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.error("expected ',' or ')'")),
            }
        }
        self.patch(count_at, n);
        Ok(())
    }

    fn position(&mut self) -> Result<(), String> {
        let want = self.dims.map_or(2, Dims::count);
        for i in 0..want {
            let v = self.number().ok_or_else(|| {
                self.error(&format!("expected {want} numbers per position, found {i}"))
            })?;
            self.out.extend_from_slice(&v.to_le_bytes());
        }
        Ok(())
    }

    fn number(&mut self) -> Option<f64> {
        self.skip_ws();
        let start = self.pos;
        while self
            .s
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_digit() || b"+-.eE".contains(c))
        {
            self.pos += 1;
        }
        let v = std::str::from_utf8(&self.s[start..self.pos])
            .ok()?
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite());
        if v.is_none() {
            self.pos = start;
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn curve_keywords_are_recognised_in_any_case() {
        assert!(has_curve(b"CurvePolygon(CIRCULARSTRING(0 0,1 1,0 0))"));
        assert!(has_curve(b"GEOMETRYCOLLECTION(multisurface EMPTY)"));
        assert!(!has_curve(b"MULTIPOLYGON(((0 0,1 0,1 1,0 0)))"));
    }

    #[test]
    fn a_circular_string_becomes_iso_wkb() {
        let (wkb, zm) = to_wkb(b"CIRCULARSTRING(0 0, 1 1, 2 0)").unwrap();
        assert!(!zm);
        let mut expected = vec![1];
        expected.extend(le(&[8, 3]));
        for v in [0.0f64, 0.0, 1.0, 1.0, 2.0, 0.0] {
            expected.extend(v.to_le_bytes());
        }
        assert_eq!(wkb, expected);
    }

    #[test]
    fn untagged_members_are_linestrings_or_polygons_and_z_is_kept() {
        let (wkb, zm) = to_wkb(
            b"MULTISURFACE Z (CURVEPOLYGON Z (COMPOUNDCURVE Z (CIRCULARSTRING Z (0 0 1,1 1 1,2 0 1),(2 0 1,0 0 1))),((5 5 2,6 5 2,6 6 2,5 5 2)))",
        )
        .unwrap();
        assert!(zm);
        // MultiSurface Z, 2 members; CurvePolygon Z, 1 ring; CompoundCurve Z, 2 members.
        assert_eq!(wkb[..9], [vec![1], le(&[1012, 2])].concat()[..]);
        assert_eq!(wkb[9..18], [vec![1], le(&[1010, 1])].concat()[..]);
        assert_eq!(wkb[18..27], [vec![1], le(&[1009, 2])].concat()[..]);
        assert_eq!(wkb[27..36], [vec![1], le(&[1008, 3])].concat()[..]);
        let line = 36 + 3 * 24;
        assert_eq!(wkb[line..line + 9], [vec![1], le(&[1002, 2])].concat()[..]);
        let poly = line + 9 + 2 * 24;
        assert_eq!(
            wkb[poly..poly + 13],
            [vec![1], le(&[1003, 1, 4])].concat()[..]
        );
        assert_eq!(wkb.len(), poly + 13 + 4 * 24);
    }

    #[test]
    fn broken_text_says_where() {
        let err = to_wkb(b"CURVEPOLYGON(CIRCULARSTRING(0 0, 1, 2 0))").unwrap_err();
        assert!(err.contains("expected 2 numbers per position"), "{err}");
        let err = to_wkb(b"MULTISURFACE(POINT(1 2))").unwrap_err();
        assert!(err.contains("not allowed"), "{err}");
        let err = to_wkb(b"CIRCULARSTRING(0 0,1 1,2 0) x").unwrap_err();
        assert!(err.contains("after the geometry"), "{err}");
    }
}
