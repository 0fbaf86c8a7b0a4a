//! A small WKT parser into a tree (OGC WKT1, ESRI WKT, and WKT2 as QGIS 3, PROJ and GDAL
//! write it: `PROJCRS`/`GEOGCRS`/`GEODCRS`, `BOUNDCRS` around one of them), and the facts we
//! compare: datum, ellipsoid, prime meridian, projection, parameters, unit. WKT2 names its
//! methods and parameters as EPSG does (`Transverse Mercator`, `Longitude of natural origin`);
//! they are mapped to the WKT1 names PostGIS's `spatial_ref_sys` uses, so one comparison serves
//! both.

/// One `KEYWORD[...]` node.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub keyword: String,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(String),
    Number(f64),
    Word(String),
    Node(Node),
}

impl Node {
    /// The first quoted text argument (a name).
    pub fn name(&self) -> Option<&str> {
        self.args.iter().find_map(|a| match a {
            Arg::Text(t) => Some(t.as_str()),
            _ => None,
        })
    }

    /// The numbers among the arguments, in order.
    pub fn numbers(&self) -> impl Iterator<Item = f64> + '_ {
        self.args.iter().filter_map(|a| match a {
            Arg::Number(n) => Some(*n),
            _ => None,
        })
    }

    /// Direct children with one of these keywords.
    pub fn children<'a>(&'a self, keywords: &'a [&str]) -> impl Iterator<Item = &'a Node> + 'a {
        self.args.iter().filter_map(move |a| match a {
            Arg::Node(n) if keywords.iter().any(|k| n.keyword.eq_ignore_ascii_case(k)) => Some(n),
            _ => None,
        })
    }

    pub fn child<'a>(&'a self, keywords: &'a [&str]) -> Option<&'a Node> {
        self.children(keywords).next()
    }
}

/// Parses WKT text into its root node.
pub fn parse(text: &str) -> Result<Node, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        at: 0,
    };
    let node = p.node()?;
    p.ws();
    if p.at != p.s.len() {
        return Err(format!("unexpected text after the WKT at byte {}", p.at));
    }
    Ok(node)
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.at < self.s.len() && self.s[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
    }

    fn word(&mut self) -> String {
        let start = self.at;
        while self.at < self.s.len()
            && (self.s[self.at].is_ascii_alphanumeric() || self.s[self.at] == b'_')
        {
            self.at += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.at]).into_owned()
    }

    fn node(&mut self) -> Result<Node, String> {
        self.ws();
        let keyword = self.word();
        if keyword.is_empty() {
            return Err(format!("expected a WKT keyword at byte {}", self.at));
        }
        self.ws();
        let close = match self.s.get(self.at) {
            Some(b'[') => b']',
            Some(b'(') => b')',
            _ => return Err(format!("expected [ after {keyword}")),
        };
        self.at += 1;
        let mut args = Vec::new();
        loop {
            self.ws();
            match self.s.get(self.at) {
                None => return Err(format!("{keyword}[ is never closed")),
                Some(c) if *c == close => {
                    self.at += 1;
                    break;
                }
                Some(b',') => self.at += 1,
                Some(b'"') => {
                    self.at += 1;
                    let mut text = Vec::new();
                    loop {
                        match self.s.get(self.at) {
                            None => return Err("a quoted text is never closed".into()),
                            Some(b'"') if self.s.get(self.at + 1) == Some(&b'"') => {
                                text.push(b'"');
                                self.at += 2;
                            }
                            Some(b'"') => {
                                self.at += 1;
                                break;
                            }
                            Some(c) => {
                                text.push(*c);
                                self.at += 1;
                            }
                        }
                    }
                    args.push(Arg::Text(String::from_utf8_lossy(&text).into_owned()));
                }
                Some(c) if c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.') => {
                    let start = self.at;
                    while self.at < self.s.len()
                        && (self.s[self.at].is_ascii_digit()
                            || matches!(self.s[self.at], b'-' | b'+' | b'.' | b'e' | b'E'))
                    {
                        self.at += 1;
                    }
                    let t = String::from_utf8_lossy(&self.s[start..self.at]);
                    let n = t
                        .parse::<f64>()
                        .map_err(|_| format!("{t:?} is not a number"))?;
                    args.push(Arg::Number(n));
                }
                Some(_) => {
                    let save = self.at;
                    let w = self.word();
                    if w.is_empty() {
                        return Err(format!("unexpected character at byte {save}"));
                    }
                    self.ws();
                    if matches!(self.s.get(self.at), Some(b'[' | b'(')) {
                        self.at = save;
                        args.push(Arg::Node(self.node()?));
                    } else {
                        args.push(Arg::Word(w));
                    }
                }
            }
        }
        Ok(Node { keyword, args })
    }
}

/// Lower-case letters and digits only.
pub fn compact(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A datum name comparable across ESRI (`D_China_2000`, `D_North_American_1983`), EPSG WKT1
/// (`China_2000`, `North_American_Datum_1983`) and WKT2 (`China 2000`, `World Geodetic System
/// 1984 ensemble`) spellings.
pub fn datum_key(name: &str) -> String {
    let c = compact(name);
    let c = if name.starts_with("D_") {
        c[1..].to_owned()
    } else {
        c
    };
    c.replace("datum", "")
        .replace("ensemble", "")
        .replace("worldgeodeticsystem", "wgs")
}

/// A projection method's normalised name, from WKT1 (`Transverse_Mercator`, `Gauss_Kruger`,
/// `Albers`) or WKT2/EPSG (`Transverse Mercator`, `Lambert Conic Conformal (2SP)`).
fn method_key(raw: &str, has_sp2: bool) -> String {
    match compact(raw).as_str() {
        "gausskruger" | "transversemercator" => "transversemercator".into(),
        "lambertconformalconic" if has_sp2 => "lambertconformalconic2sp".into(),
        "lambertconformalconic" | "lambertconicconformal1sp" => "lambertconformalconic1sp".into(),
        "lambertconicconformal2sp" => "lambertconformalconic2sp".into(),
        "albers" | "albersconicequalarea" | "albersequalarea" => "albersconicequalarea".into(),
        "mercator" | "mercator1sp" | "mercatorvarianta" => "mercator1sp".into(),
        "mercatorvariantb" => "mercator2sp".into(),
        other => other.to_owned(),
    }
}

/// A parameter's normalised name: WKT2/EPSG names become their WKT1 equivalents.
fn param_key(raw: &str) -> String {
    let c = compact(raw);
    match c.as_str() {
        "latitudeofnaturalorigin" | "latitudeoffalseorigin" => "latitudeoforigin".into(),
        "longitudeofnaturalorigin" | "longitudeoffalseorigin" => "centralmeridian".into(),
        "scalefactoratnaturalorigin" | "scalefactoroninitialline" => "scalefactor".into(),
        "eastingatfalseorigin" | "eastingatprojectioncentre" => "falseeasting".into(),
        "northingatfalseorigin" | "northingatprojectioncentre" => "falsenorthing".into(),
        "latitudeof1ststandardparallel" => "standardparallel1".into(),
        "latitudeof2ndstandardparallel" => "standardparallel2".into(),
        "latitudeofprojectioncentre" => "latitudeofcenter".into(),
        "longitudeofprojectioncentre" => "longitudeofcenter".into(),
        _ => c,
    }
}

/// What two CRS definitions must share to be the same.
#[derive(Debug, Clone, PartialEq)]
pub struct CrsFacts {
    pub projected: bool,
    pub name: String,
    pub datum: String,
    pub semi_major: f64,
    pub inv_flattening: f64,
    pub prime_meridian: f64,
    /// Normalised projection method (`transversemercator`, `lambertconformalconic2sp`, ...).
    pub method: String,
    /// Normalised parameter names and values, in the CRS's own units.
    pub params: Vec<(String, f64)>,
    /// Metres per linear unit (projected) or radians per angular unit (geographic).
    pub unit: f64,
}

/// Facts of a geographic or projected CRS: a WKT1 `PROJCS` or `GEOGCS` root, or a WKT2
/// `PROJCRS`, `GEOGCRS` or (ellipsoidal) `GEODCRS`, also inside a `BOUNDCRS`; `None` for other
/// roots (geocentric, vertical, compound, engineering CRSs).
pub fn facts(root: &Node) -> Option<CrsFacts> {
    match root.keyword.to_ascii_uppercase().as_str() {
        "PROJCS" | "GEOGCS" => wkt1_facts(root),
        "PROJCRS" | "PROJECTEDCRS" | "GEOGCRS" | "GEOGRAPHICCRS" | "GEODCRS" | "GEODETICCRS" => {
            wkt2_facts(root)
        }
        "BOUNDCRS" => root
            .child(&["SOURCECRS"])?
            .args
            .iter()
            .find_map(|a| match a {
                Arg::Node(n) => facts(n),
                _ => None,
            }),
        _ => None,
    }
}

fn wkt1_facts(root: &Node) -> Option<CrsFacts> {
    let projected = root.keyword.eq_ignore_ascii_case("PROJCS");
    let geog = if projected {
        root.child(&["GEOGCS"])?
    } else {
        root
    };
    let datum = geog.child(&["DATUM"])?;
    let spheroid = datum.child(&["SPHEROID", "ELLIPSOID"])?;
    let mut sn = spheroid.numbers();
    let semi_major = sn.next()?;
    let inv_flattening = sn.next().unwrap_or(0.0);
    let prime_meridian = geog
        .child(&["PRIMEM"])
        .and_then(|p| p.numbers().next())
        .unwrap_or(0.0);
    let unit = root
        .child(&["UNIT"])
        .and_then(|u| u.numbers().next())
        .unwrap_or(1.0);
    let mut method = String::new();
    let mut params = Vec::new();
    if projected {
        let raw = root.child(&["PROJECTION"])?.name()?.to_owned();
        params = parameters(root);
        method = method_key(&raw, params.iter().any(|(n, _)| n == "standardparallel2"));
    }
    Some(CrsFacts {
        projected,
        name: root.name().unwrap_or_default().to_owned(),
        datum: datum_key(datum.name().unwrap_or_default()),
        semi_major,
        inv_flattening,
        prime_meridian,
        method,
        params,
        unit,
    })
}

/// WKT2: the datum (or datum ensemble) under `BASEGEOGCRS` of a `PROJCRS`, the method and
/// parameters in its `CONVERSION`, the unit on the root or on its first axis.
fn wkt2_facts(root: &Node) -> Option<CrsFacts> {
    let projected = root.keyword.to_ascii_uppercase().starts_with("PROJ");
    let geog = if projected {
        root.child(&["BASEGEOGCRS", "BASEGEODCRS"])?
    } else {
        // A GEODCRS with a Cartesian coordinate system is geocentric, not geographic.
        let cartesian = root.child(&["CS"]).is_some_and(|cs| {
            cs.args
                .iter()
                .any(|a| matches!(a, Arg::Word(w) if w.eq_ignore_ascii_case("Cartesian")))
        });
        if cartesian {
            return None;
        }
        root
    };
    let datum = geog.child(&["DATUM", "GEODETICDATUM", "TRF", "ENSEMBLE"])?;
    let ellipsoid = datum.child(&["ELLIPSOID", "SPHEROID"])?;
    let mut en = ellipsoid.numbers();
    let semi_major = en.next()?;
    let inv_flattening = en.next().unwrap_or(0.0);
    let prime_meridian = geog
        .child(&["PRIMEM", "PRIMEMERIDIAN"])
        .and_then(|p| p.numbers().next())
        .unwrap_or(0.0);
    let unit_keywords: &[&str] = if projected {
        &["LENGTHUNIT", "UNIT"]
    } else {
        &["ANGLEUNIT", "UNIT"]
    };
    let unit = root
        .child(unit_keywords)
        .or_else(|| root.child(&["AXIS"]).and_then(|a| a.child(unit_keywords)))
        .and_then(|u| u.numbers().next())
        .unwrap_or(if projected {
            1.0
        } else {
            0.017_453_292_519_943_3
        });
    let mut method = String::new();
    let mut params = Vec::new();
    if projected {
        let conversion = root.child(&["CONVERSION", "DERIVINGCONVERSION"])?;
        let raw = conversion
            .child(&["METHOD", "PROJECTION"])?
            .name()?
            .to_owned();
        params = parameters(conversion);
        method = method_key(&raw, params.iter().any(|(n, _)| n == "standardparallel2"));
    }
    Some(CrsFacts {
        projected,
        name: root.name().unwrap_or_default().to_owned(),
        datum: datum_key(datum.name().unwrap_or_default()),
        semi_major,
        inv_flattening,
        prime_meridian,
        method,
        params,
        unit,
    })
}

/// The `PARAMETER` children of `node` with normalised names.
fn parameters(node: &Node) -> Vec<(String, f64)> {
    node.children(&["PARAMETER"])
        .filter_map(|p| Some((param_key(p.name()?), p.numbers().next()?)))
        .collect()
}

/// Parameters with their defaults filled in, standard parallels as a sorted pair (ESRI and
/// EPSG list them in opposite orders).
fn normalised(params: &[(String, f64)]) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = vec![
        ("scalefactor".into(), 1.0),
        ("falseeasting".into(), 0.0),
        ("falsenorthing".into(), 0.0),
        ("latitudeoforigin".into(), 0.0),
    ];
    let mut sps = Vec::new();
    for (n, v) in params {
        let n = match n.as_str() {
            "standardparallel1" | "standardparallel2" => {
                sps.push(*v);
                continue;
            }
            "longitudeofcenter" => "centralmeridian",
            "latitudeofcenter" => "latitudeoforigin",
            other => other,
        };
        match out.iter_mut().find(|(k, _)| k == n) {
            Some(slot) => slot.1 = *v,
            None => out.push((n.to_owned(), *v)),
        }
    }
    sps.sort_by(f64::total_cmp);
    for (i, v) in sps.into_iter().enumerate() {
        out.push((format!("standardparallel{}", i + 1), v));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Whether `a` and `b` define the same CRS (names aside).
pub fn same(a: &CrsFacts, b: &CrsFacts) -> bool {
    let close = |x: f64, y: f64, tol: f64| (x - y).abs() <= tol;
    if a.projected != b.projected
        || a.datum != b.datum
        || !close(a.semi_major, b.semi_major, 1e-3)
        || !close(a.inv_flattening, b.inv_flattening, 1e-6)
        || !close(a.prime_meridian, b.prime_meridian, 1e-9)
        || (a.unit - b.unit).abs() > 1e-9 * a.unit.abs().max(1.0)
        || a.method != b.method
    {
        return false;
    }
    let (pa, pb) = (normalised(&a.params), normalised(&b.params));
    pa.len() == pb.len()
        && pa.iter().zip(&pb).all(|((na, va), (nb, vb))| {
            na == nb && {
                let linear = na.starts_with("false");
                close(*va, *vb, if linear { 1e-3 } else { 1e-8 })
            }
        })
}

/// The EPSG code the root names with `AUTHORITY["EPSG","4326"]` (WKT1) or `ID["EPSG",4326]`
/// (WKT2); only the root's own, never a nested datum's or unit's.
pub fn root_epsg(root: &Node) -> Option<i32> {
    let auth = root.children(&["AUTHORITY", "ID"]).last()?;
    let org = auth.name()?;
    if !org.eq_ignore_ascii_case("EPSG") {
        return None;
    }
    match auth.args.get(1)? {
        Arg::Text(t) => t.trim().parse().ok(),
        Arg::Number(n) if n.fract() == 0.0 && *n > 0.0 && *n < 1e9 => Some(*n as i32),
        _ => None,
    }
}
