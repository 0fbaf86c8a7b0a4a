//! Tests of the demo generator against the files it writes, read back the way a consumer would
//! (rusqlite, geozero's GeoPackage binary reader, serde_json) and checked with geometry written
//! independently of the generator's (a numerically integrated ellipsoidal area, its own
//! point-in-polygon and segment intersection tests).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use geozero::wkb::GpkgWkb;
use geozero::ToJson;
use rusqlite::Connection;
use serde_json::Value as Json;

use super::{generate, DemoFile, DemoOptions};

const PARCELS: usize = 4_000;
const SEED: u64 = 42;
const YEARS: std::ops::RangeInclusive<i32> = 2019..=2024;

type Ring = Vec<[f64; 2]>;
type Poly = Vec<Ring>;

struct Row {
    bsm: String,
    tbbh: String,
    dlbm: String,
    dlmc: String,
    qsdwdm: String,
    zldwdm: String,
    tbmj: f64,
    kcmj: f64,
    tbdlmj: f64,
    poly: Poly,
    bbox: [f64; 4],
}

struct Fixture {
    files: Vec<DemoFile>,
    dir: PathBuf,
    years: Vec<(i32, Vec<Row>)>,
    county: Ring,
    /// zone (core/buffer/experimental) → multipolygon
    zones: HashMap<String, Vec<Poly>>,
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("onemap-demo-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = scratch("fixture");
        let files = generate(
            &dir,
            &DemoOptions {
                parcels: PARCELS,
                seed: SEED,
            },
        )
        .expect("generate");
        let years = YEARS
            .map(|y| (y, read_dltb(&dir.join(format!("dltb_{y}.gpkg")))))
            .collect();
        let county: Json =
            serde_json::from_str(&std::fs::read_to_string(dir.join("county.geojson")).unwrap())
                .unwrap();
        let county = polygon_of(&county["features"][0]["geometry"]["coordinates"]).remove(0);
        let conn = Connection::open(dir.join("reserve_zones.gpkg")).unwrap();
        let mut stmt = conn
            .prepare("SELECT zone, geom FROM reserve_zones")
            .unwrap();
        let zones = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .unwrap()
            .map(|r| {
                let (zone, blob) = r.unwrap();
                let g = decode(&blob);
                assert_eq!(g["type"], "MultiPolygon");
                (
                    zone,
                    g["coordinates"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(polygon_of)
                        .collect(),
                )
            })
            .collect();
        Fixture {
            files,
            dir,
            years,
            county,
            zones,
        }
    })
}

fn decode(blob: &[u8]) -> Json {
    serde_json::from_str(&GpkgWkb(blob).to_json().expect("GeoPackage geometry")).unwrap()
}

fn polygon_of(coords: &Json) -> Poly {
    coords
        .as_array()
        .unwrap()
        .iter()
        .map(|ring| {
            ring.as_array()
                .unwrap()
                .iter()
                .map(|p| [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()])
                .collect()
        })
        .collect()
}

fn read_dltb(path: &Path) -> Vec<Row> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn.prepare("SELECT BSM, TBBH, DLBM, DLMC, QSDWDM, ZLDWDM, TBMJ, KCMJ, TBDLMJ, geom FROM DLTB ORDER BY fid").unwrap();
    stmt.query_map([], |r| {
        let blob: Vec<u8> = r.get(9)?;
        let g = decode(&blob);
        assert_eq!(g["type"], "Polygon");
        let poly = polygon_of(&g["coordinates"]);
        let bbox = bbox(&poly[0]);
        Ok(Row {
            bsm: r.get(0)?,
            tbbh: r.get(1)?,
            dlbm: r.get(2)?,
            dlmc: r.get(3)?,
            qsdwdm: r.get(4)?,
            zldwdm: r.get(5)?,
            tbmj: r.get(6)?,
            kcmj: r.get(7)?,
            tbdlmj: r.get(8)?,
            poly,
            bbox,
        })
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn bbox(ring: &[[f64; 2]]) -> [f64; 4] {
    ring.iter()
        .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, p| {
            [
                b[0].min(p[0]),
                b[1].min(p[1]),
                b[2].max(p[0]),
                b[3].max(p[1]),
            ]
        })
}

// ---- independent geometry -------------------------------------------------------------

/// ∫ M(φ)·N(φ)·cos φ dφ from 38.4° to `lat` on GRS80, by Simpson's rule.
fn area_integral(lat: f64) -> f64 {
    let a = 6_378_137.0_f64;
    let f = 1.0 / 298.257_222_101;
    let e2 = f * (2.0 - f);
    let g = |phi: f64| {
        let w = 1.0 - e2 * phi.sin().powi(2);
        let m = a * (1.0 - e2) / w.powf(1.5);
        let n = a / w.sqrt();
        m * n * phi.cos()
    };
    let (lo, hi) = (38.4_f64.to_radians(), lat.to_radians());
    let steps = 16;
    let h = (hi - lo) / steps as f64;
    let mut s = g(lo) + g(hi);
    for k in 1..steps {
        s += g(lo + k as f64 * h) * if k % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0
}

/// Ellipsoidal area of a closed ring in m² (Green's theorem with the integral above).
fn ellipsoid_area(ring: &[[f64; 2]]) -> f64 {
    let mut sum = 0.0;
    for w in ring.windows(2) {
        let dl = (w[1][0] - w[0][0]).to_radians();
        sum -= dl * 0.5 * (area_integral(w[0][1]) + area_integral(w[1][1]));
    }
    sum.abs()
}

fn contains(ring: &[[f64; 2]], p: [f64; 2]) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a[1] > p[1]) != (b[1] > p[1]) {
            let x = a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]);
            if p[0] < x {
                inside = !inside;
            }
        }
    }
    inside
}

fn poly_contains(poly: &Poly, p: [f64; 2]) -> bool {
    contains(&poly[0], p) && !poly[1..].iter().any(|h| contains(h, p))
}

fn centroid(ring: &[[f64; 2]]) -> [f64; 2] {
    let o = ring[0];
    let (mut cx, mut cy, mut a) = (0.0, 0.0, 0.0);
    for w in ring.windows(2) {
        let (p, q) = (
            [w[0][0] - o[0], w[0][1] - o[1]],
            [w[1][0] - o[0], w[1][1] - o[1]],
        );
        let c = p[0] * q[1] - q[0] * p[1];
        a += c;
        cx += (p[0] + q[0]) * c;
        cy += (p[1] + q[1]) * c;
    }
    [o[0] + cx / (3.0 * a), o[1] + cy / (3.0 * a)]
}

fn orient(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> f64 {
    (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
}

fn on_segment(a: [f64; 2], b: [f64; 2], p: [f64; 2]) -> bool {
    p[0] >= a[0].min(b[0])
        && p[0] <= a[0].max(b[0])
        && p[1] >= a[1].min(b[1])
        && p[1] <= a[1].max(b[1])
}

/// Whether two closed segments share any point.
fn segments_touch(a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]) -> bool {
    let (d1, d2, d3, d4) = (
        orient(c, d, a),
        orient(c, d, b),
        orient(a, b, c),
        orient(a, b, d),
    );
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
        && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
    {
        return true;
    }
    (d1 == 0.0 && on_segment(c, d, a))
        || (d2 == 0.0 && on_segment(c, d, b))
        || (d3 == 0.0 && on_segment(a, b, c))
        || (d4 == 0.0 && on_segment(a, b, d))
}

/// OGC-style validity of a polygon: closed rings of ≥ 4 points with area, no self-intersection,
/// rings not touching each other, holes inside the exterior.
fn check_valid(poly: &Poly) -> Result<(), String> {
    for ring in poly {
        if ring.len() < 4 {
            return Err(format!("ring of {} points", ring.len()));
        }
        if ring.first() != ring.last() {
            return Err("ring not closed".into());
        }
        if ellipsoid_area(ring) <= 0.0 {
            return Err("ring without area".into());
        }
        let n = ring.len() - 1;
        for i in 0..n {
            for j in i + 1..n {
                let adjacent = j == i + 1 || (i == 0 && j == n - 1);
                if !adjacent && segments_touch(ring[i], ring[i + 1], ring[j], ring[j + 1]) {
                    return Err(format!(
                        "self-intersection between edges {i} and {j} near {:?}",
                        ring[i]
                    ));
                }
            }
        }
    }
    for (k, hole) in poly.iter().enumerate().skip(1) {
        if !contains(&poly[0], hole[0]) {
            return Err(format!("hole {k} outside its exterior"));
        }
        for other in &poly[..k] {
            for a in hole.windows(2) {
                for b in other.windows(2) {
                    if segments_touch(a[0], a[1], b[0], b[1]) {
                        return Err(format!("hole {k} touches another ring"));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Bucket index of parcels by bounding box, for point lookups.
struct Index<'a> {
    rows: &'a [Row],
    buckets: HashMap<(i32, i32), Vec<usize>>,
}

impl<'a> Index<'a> {
    const CELL: f64 = 0.02;

    fn new(rows: &'a [Row]) -> Self {
        let mut buckets: HashMap<(i32, i32), Vec<usize>> = HashMap::new();
        for (k, r) in rows.iter().enumerate() {
            let b = r.bbox;
            for i in (b[0] / Self::CELL).floor() as i32..=(b[2] / Self::CELL).floor() as i32 {
                for j in (b[1] / Self::CELL).floor() as i32..=(b[3] / Self::CELL).floor() as i32 {
                    buckets.entry((i, j)).or_default().push(k);
                }
            }
        }
        Index { rows, buckets }
    }

    fn containing(&self, p: [f64; 2]) -> Vec<usize> {
        let key = (
            (p[0] / Self::CELL).floor() as i32,
            (p[1] / Self::CELL).floor() as i32,
        );
        self.buckets
            .get(&key)
            .map(|ks| {
                ks.iter()
                    .copied()
                    .filter(|&k| poly_contains(&self.rows[k].poly, p))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn in_core_or_buffer(fx: &Fixture, p: [f64; 2]) -> bool {
    ["core", "buffer"]
        .iter()
        .any(|z| fx.zones[*z].iter().any(|poly| poly_contains(poly, p)))
}

/// A small deterministic generator for sample points (independent of the crate's rng).
fn lcg(state: &mut u64) -> f64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (*state >> 11) as f64 / (1u64 << 53) as f64
}

// ---- tests --------------------------------------------------------------------------------

#[test]
fn the_same_seed_writes_byte_identical_files_and_another_seed_differs() {
    let (a, b, c) = (scratch("det-a"), scratch("det-b"), scratch("det-c"));
    let opts = DemoOptions {
        parcels: 1_500,
        seed: 7,
    };
    let fa = generate(&a, &opts).unwrap();
    let fb = generate(&b, &opts).unwrap();
    assert_eq!(fa.len(), fb.len());
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(x.path.file_name(), y.path.file_name());
        let (bx, by) = (
            std::fs::read(&x.path).unwrap(),
            std::fs::read(&y.path).unwrap(),
        );
        assert!(bx == by, "{} differs between two runs", x.path.display());
    }
    generate(
        &c,
        &DemoOptions {
            parcels: 1_500,
            seed: 8,
        },
    )
    .unwrap();
    assert_ne!(
        std::fs::read(a.join("dltb_2019.gpkg")).unwrap(),
        std::fs::read(c.join("dltb_2019.gpkg")).unwrap()
    );
    // The geography is fixed: the county is the same for every seed.
    assert_eq!(
        std::fs::read(a.join("county.geojson")).unwrap(),
        std::fs::read(c.join("county.geojson")).unwrap()
    );
    for d in [a, b, c] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn files_are_returned_in_load_order_with_valid_registration() {
    let fx = fixture();
    let departments = include_str!("../../../schemas/data/departments.csv");
    let departments: HashSet<&str> = departments
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    let themes = [
        "land_use",
        "protected_areas",
        "forest_grassland",
        "water",
        "wildlife",
        "human_activity",
        "monitoring",
        "enforcement",
    ];
    assert_eq!(fx.files[0].layer, "county");
    for f in &fx.files {
        assert!(
            f.path.is_file() && f.path.starts_with(&fx.dir),
            "{}",
            f.path.display()
        );
        let mut chars = f.layer.chars();
        assert!(chars.next().is_some_and(|c| c.is_ascii_lowercase()));
        assert!(
            chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{}",
            f.layer
        );
        assert!(
            departments.contains(f.department),
            "unknown department {}",
            f.department
        );
        assert!(themes.contains(&f.theme), "unknown theme {}", f.theme);
        assert!(!f.title_zh.is_empty() && !f.title_en.is_empty());
    }
    let survey: Vec<&DemoFile> = fx.files.iter().filter(|f| f.layer == "dltb").collect();
    assert_eq!(
        survey.iter().map(|f| f.year.unwrap()).collect::<Vec<_>>(),
        YEARS.collect::<Vec<_>>()
    );
    assert!(survey
        .iter()
        .all(|f| f.class_field == Some("DLBM") && f.department == "zrzy" && f.theme == "land_use"));
    // Context layers come before the survey years.
    let first_survey = fx.files.iter().position(|f| f.layer == "dltb").unwrap();
    assert!(fx.files[first_survey..].iter().all(|f| f.layer == "dltb"));
    for layer in [
        "reserve_zones",
        "station_jurisdictions",
        "rivers",
        "hydropower",
        "monitoring_stations",
        "villages",
    ] {
        assert!(
            fx.files[..first_survey].iter().any(|f| f.layer == layer),
            "missing {layer}"
        );
    }
}

#[test]
fn parcel_count_is_within_ten_percent_of_the_request() {
    for (year, rows) in &fixture().years {
        let n = rows.len() as f64;
        assert!(
            (n - PARCELS as f64).abs() <= 0.1 * PARCELS as f64,
            "{year}: {n} parcels"
        );
    }
}

#[test]
fn parcels_tile_the_county_without_gaps_or_overlaps() {
    let fx = fixture();
    let county_area = ellipsoid_area(&fx.county);
    assert!(
        county_area > 4.0e9 && county_area < 9.0e9,
        "county area {county_area}"
    );
    for (year, rows) in &fx.years {
        let total: f64 = rows.iter().map(|r| r.tbmj).sum();
        assert!(
            (total - county_area).abs() < 0.005 * county_area,
            "{year}: parcels {total} vs county {county_area}"
        );
    }
    // Every sampled point of the county lies in exactly one parcel, none outside it in any.
    let cb = bbox(&fx.county);
    for (year, rows) in [&fx.years[0], &fx.years[5]].map(|(y, r)| (*y, r)) {
        let index = Index::new(rows);
        let mut state = 99;
        let (mut inside, mut outside) = (0, 0);
        for _ in 0..3_000 {
            let p = [
                cb[0] + lcg(&mut state) * (cb[2] - cb[0]),
                cb[1] + lcg(&mut state) * (cb[3] - cb[1]),
            ];
            let hits = index.containing(p).len();
            if contains(&fx.county, p) {
                assert_eq!(hits, 1, "{year}: point {p:?} in {hits} parcels");
                inside += 1;
            } else {
                assert_eq!(
                    hits, 0,
                    "{year}: point {p:?} outside the county in {hits} parcels"
                );
                outside += 1;
            }
        }
        assert!(inside > 1_000 && outside > 100);
    }
}

#[test]
fn every_polygon_is_valid() {
    let fx = fixture();
    check_valid(&vec![fx.county.clone()]).expect("county");
    for (zone, polys) in &fx.zones {
        for poly in polys {
            check_valid(poly).unwrap_or_else(|e| panic!("zone {zone}: {e}"));
        }
    }
    for (year, rows) in &fx.years {
        for r in rows {
            check_valid(&r.poly).unwrap_or_else(|e| panic!("{year} parcel {}: {e}", r.bsm));
        }
    }
    let stations: Json = serde_json::from_str(
        &std::fs::read_to_string(fx.dir.join("station_jurisdictions.geojson")).unwrap(),
    )
    .unwrap();
    let mut codes = Vec::new();
    for f in stations["features"].as_array().unwrap() {
        check_valid(&polygon_of(&f["geometry"]["coordinates"])).expect("station");
        codes.push(f["properties"]["station"].as_str().unwrap().to_string());
    }
    codes.sort();
    assert_eq!(codes, ["dhs", "lsz", "mczz"]);
}

#[test]
fn reserve_zones_do_not_overlap_and_the_core_is_southernmost() {
    let fx = fixture();
    let area = |zone: &str| {
        fx.zones[zone]
            .iter()
            .map(|p| ellipsoid_area(&p[0]) - p[1..].iter().map(|h| ellipsoid_area(h)).sum::<f64>())
            .sum::<f64>()
    };
    let (core, buffer, exp) = (area("core"), area("buffer"), area("experimental"));
    assert!(
        core > 1.0e8 && buffer > 1.0e8 && exp > 1.0e8,
        "{core} {buffer} {exp}"
    );
    let mut state = 5;
    let cb = bbox(&fx.county);
    for _ in 0..4_000 {
        let p = [
            cb[0] + lcg(&mut state) * (cb[2] - cb[0]),
            cb[1] + lcg(&mut state) * (cb[3] - cb[1]),
        ];
        let hits = ["core", "buffer", "experimental"]
            .iter()
            .filter(|z| fx.zones[**z].iter().any(|poly| poly_contains(poly, p)))
            .count();
        assert!(hits <= 1, "{p:?} in {hits} zones");
        if hits == 1 {
            assert!(contains(&fx.county, p), "{p:?} zone outside the county");
        }
    }
    // The southern core lies south of the southern buffer, which lies south of the experimental zone.
    let south = |zone: &str| {
        fx.zones[zone]
            .iter()
            .map(|p| centroid(&p[0])[1])
            .fold(f64::MAX, f64::min)
    };
    assert!(south("core") < south("buffer") && south("buffer") < south("experimental"));
}

#[test]
fn tbmj_agrees_with_an_independent_ellipsoidal_area() {
    for (year, rows) in &fixture().years {
        for r in rows {
            let area = ellipsoid_area(&r.poly[0]);
            assert!(
                (r.tbmj - area).abs() <= 0.001 * area + 0.01,
                "{year} {}: TBMJ {} vs {area}",
                r.bsm,
                r.tbmj
            );
            assert!(
                (r.tbdlmj - (r.tbmj - r.kcmj)).abs() <= 0.011,
                "{year} {}: TBDLMJ",
                r.bsm
            );
            if ["0102", "0103"].contains(&r.dlbm.as_str()) {
                assert!(
                    r.kcmj > 0.0 && r.kcmj < 0.11 * r.tbmj,
                    "{year} {}: KCMJ {}",
                    r.bsm,
                    r.kcmj
                );
            } else {
                assert_eq!(r.kcmj, 0.0);
            }
        }
    }
}

#[test]
fn codes_names_and_unit_codes_follow_the_survey_conventions() {
    let fx = fixture();
    let mut names: HashMap<String, String> = HashMap::new();
    let mut reader =
        csv::Reader::from_reader(include_str!("../../../schemas/data/gbt21010.csv").as_bytes());
    for rec in reader.records() {
        let rec = rec.unwrap();
        names.insert(rec[0].to_string(), rec[1].to_string());
    }
    for (code, name) in super::parcels::WORKING_CODES {
        names.insert(code.to_string(), name.to_string());
    }
    let mut reader = csv::Reader::from_reader(
        include_str!("../../../schemas/data/shandan_villages.csv").as_bytes(),
    );
    let villages: HashSet<String> = reader
        .records()
        .map(|r| r.unwrap()[0].to_string())
        .collect();
    let mut classes = HashSet::new();
    for (year, rows) in &fx.years {
        let mut bsm = HashSet::new();
        let mut tbbh = HashSet::new();
        for r in rows {
            assert_eq!(
                names.get(&r.dlbm),
                Some(&r.dlmc),
                "{year}: DLBM {} DLMC {}",
                r.dlbm,
                r.dlmc
            );
            classes.insert(r.dlbm.clone());
            for unit in [&r.qsdwdm, &r.zldwdm] {
                assert!(
                    unit.len() == 19 && unit.bytes().all(|b| b.is_ascii_digit()),
                    "{unit}"
                );
                assert!(villages.contains(&unit[..12]), "{unit}");
            }
            assert!(r.zldwdm.ends_with("0000000"));
            assert!(bsm.insert(r.bsm.clone()), "{year}: duplicate BSM {}", r.bsm);
            assert!(
                tbbh.insert((r.zldwdm.clone(), r.tbbh.clone())),
                "{year}: duplicate TBBH {}",
                r.tbbh
            );
        }
    }
    // The spatial field produces the plausible mix of classes.
    for code in [
        "0102", "0103", "0301", "0305", "0401", "0404", "0602", "0701", "0702", "1003", "1006",
        "1101", "1207", "1110", "203",
    ] {
        assert!(classes.contains(code), "class {code} never generated");
    }
}

#[test]
fn prohibited_changes_appear_in_the_core_or_buffer_zone_every_year_after_2019() {
    let fx = fixture();
    let natural = |c: &str| c.starts_with("03") || c.starts_with("04");
    let prohibited = ["0602", "0601", "0701", "0702", "1003", "1006"];
    let mut transitions: HashMap<(String, String), usize> = HashMap::new();
    for w in fx.years.windows(2) {
        let ((_, before), (year, after)) = (&w[0], &w[1]);
        let index = Index::new(before);
        let mut illegal = 0;
        for r in after {
            let c = centroid(&r.poly[0]);
            let prev = index.containing(c);
            assert_eq!(
                prev.len(),
                1,
                "{year}: centroid of {} in {} parcels of the year before",
                r.bsm,
                prev.len()
            );
            let was = &before[prev[0]].dlbm;
            if was != &r.dlbm {
                *transitions
                    .entry((was.clone(), r.dlbm.clone()))
                    .or_default() += 1;
            }
            if prohibited.contains(&r.dlbm.as_str()) && natural(was) && in_core_or_buffer(fx, c) {
                illegal += 1;
            }
        }
        assert!(
            illegal >= 1,
            "{year}: no prohibited change inside the core or buffer zone"
        );
        let prev: HashMap<&str, &str> = before
            .iter()
            .map(|b| (b.bsm.as_str(), b.dlbm.as_str()))
            .collect();
        let changed = after
            .iter()
            .filter(|r| prev.get(r.bsm.as_str()) != Some(&r.dlbm.as_str()))
            .count();
        assert!(changed >= 10, "{year}: only {changed} changed parcels");
    }
    let count = |from: &[&str], to: &[&str]| {
        transitions
            .iter()
            .filter(|((f, t), _)| from.contains(&f.as_str()) && to.contains(&t.as_str()))
            .map(|(_, n)| n)
            .sum::<usize>()
    };
    assert!(count(&["0602"], &["0404", "0401"]) > 0, "no mine restored");
    assert!(
        count(&["0102", "0103"], &["0701", "0601", "0702", "1003"]) > 0,
        "no construction on cropland"
    );
    assert!(count(&["0404"], &["0401"]) > 0, "no grassland recovery");
    assert!(
        count(&["0102", "0103"], &["0305", "0401"]) > 0,
        "no cropland returned to forest or grass"
    );
}

#[test]
fn parcels_split_and_merge_and_unchanged_parcels_keep_their_ids() {
    let fx = fixture();
    for w in fx.years.windows(2) {
        let ((_, before), (year, after)) = (&w[0], &w[1]);
        let prev: HashMap<&str, &Row> = before.iter().map(|r| (r.bsm.as_str(), r)).collect();
        let now: HashSet<&str> = after.iter().map(|r| r.bsm.as_str()).collect();
        for r in after {
            if let Some(p) = prev.get(r.bsm.as_str()) {
                assert_eq!(
                    p.poly, r.poly,
                    "{year}: {} kept its BSM but changed shape",
                    r.bsm
                );
                assert_eq!(p.tbbh, r.tbbh, "{year}: {} changed TBBH", r.bsm);
            }
        }
        let index = Index::new(before);
        let fresh: Vec<&Row> = after
            .iter()
            .filter(|r| !prev.contains_key(r.bsm.as_str()))
            .collect();
        assert!(!fresh.is_empty(), "{year}: no new parcels");
        // Split: two or more new parcels lie in one parcel of the year before that is gone.
        let mut pieces: HashMap<usize, usize> = HashMap::new();
        for r in &fresh {
            let k = index.containing(centroid(&r.poly[0]))[0];
            if !now.contains(before[k].bsm.as_str()) {
                *pieces.entry(k).or_default() += 1;
            }
        }
        let splits = pieces.values().filter(|n| **n >= 2).count();
        // Merge: one new parcel covers two or more parcels of the year before that are gone.
        let merges = fresh
            .iter()
            .filter(|r| {
                before
                    .iter()
                    .filter(|b| {
                        !now.contains(b.bsm.as_str())
                            && poly_contains(&r.poly, centroid(&b.poly[0]))
                    })
                    .count()
                    >= 2
            })
            .count();
        assert!(splits >= 1, "{year}: no split");
        assert!(merges >= 1, "{year}: no merge");
    }
}

#[test]
fn the_geopackage_has_the_core_tables_and_the_expected_rows() {
    let fx = fixture();
    for (year, rows) in &fx.years {
        let conn = Connection::open(fx.dir.join(format!("dltb_{year}.gpkg"))).unwrap();
        let app: i64 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!((app, version), (0x4750_4B47, 10_300));
        let tables: HashSet<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for t in [
            "gpkg_spatial_ref_sys",
            "gpkg_contents",
            "gpkg_geometry_columns",
            "DLTB",
        ] {
            assert!(tables.contains(t), "{year}: missing {t}");
        }
        let srs: Vec<i64> = conn
            .prepare("SELECT srs_id FROM gpkg_spatial_ref_sys ORDER BY 1")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(srs, [-1, 0, 4326, 4490]);
        let wkt: String = conn
            .query_row(
                "SELECT definition FROM gpkg_spatial_ref_sys WHERE srs_id = 4490",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(wkt.contains("298.257222101") && wkt.contains("\"EPSG\",\"4490\""));
        let (data_type, srs_id, ext): (String, i64, [f64; 4]) = conn
            .query_row("SELECT data_type, srs_id, min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = 'DLTB'", [], |r| {
                Ok((r.get(0)?, r.get(1)?, [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?]))
            })
            .unwrap();
        assert_eq!((data_type.as_str(), srs_id), ("features", 4490));
        let all = rows
            .iter()
            .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, r| {
                [
                    b[0].min(r.bbox[0]),
                    b[1].min(r.bbox[1]),
                    b[2].max(r.bbox[2]),
                    b[3].max(r.bbox[3]),
                ]
            });
        assert_eq!(ext, all);
        let geom_type: String = conn.query_row("SELECT geometry_type_name FROM gpkg_geometry_columns WHERE table_name = 'DLTB' AND column_name = 'geom'", [], |r| r.get(0)).unwrap();
        assert_eq!(geom_type, "POLYGON");
        let n: i64 = conn
            .query_row("SELECT count(*) FROM DLTB", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n as usize, rows.len());
        let blob: Vec<u8> = conn
            .query_row("SELECT geom FROM DLTB LIMIT 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(&blob[..4], b"GP\x00\x03");
        assert_eq!(i32::from_le_bytes(blob[4..8].try_into().unwrap()), 4490);
    }
}

#[test]
fn villages_lie_outside_the_reserve_and_hydropower_on_rivers() {
    let fx = fixture();
    let read = |name: &str| -> Json {
        serde_json::from_str(&std::fs::read_to_string(fx.dir.join(name)).unwrap()).unwrap()
    };
    let point = |f: &Json| {
        [
            f["geometry"]["coordinates"][0].as_f64().unwrap(),
            f["geometry"]["coordinates"][1].as_f64().unwrap(),
        ]
    };
    let villages = read("villages.geojson");
    let villages = villages["features"].as_array().unwrap();
    assert_eq!(villages.len(), 129);
    for v in villages {
        let p = point(v);
        assert!(contains(&fx.county, p), "{v}");
        assert!(
            !fx.zones
                .values()
                .flatten()
                .any(|poly| poly_contains(poly, p)),
            "village in the reserve: {v}"
        );
        assert_eq!(v["properties"]["code"].as_str().unwrap().len(), 12);
    }
    let rivers = read("rivers.geojson");
    let lines: Vec<Ring> = rivers["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| polygon_of(&json_wrap(&f["geometry"]["coordinates"])).remove(0))
        .collect();
    let hydro = read("hydropower.geojson");
    let hydro = hydro["features"].as_array().unwrap();
    assert_eq!(hydro.len(), 6);
    for h in hydro {
        let p = point(h);
        let near = lines
            .iter()
            .flat_map(|l| l.windows(2))
            .any(|s| orient(s[0], s[1], p).abs() < 1e-9 && on_segment(s[0], s[1], p));
        assert!(near, "hydropower off its river: {h}");
        assert!(
            h["properties"]["capacity_kw"].as_i64().unwrap() > 0
                && h["properties"]["eco_flow_m3s"].as_f64().unwrap() > 0.0
        );
    }
    let stations = read("monitoring_stations.geojson");
    let stations = stations["features"].as_array().unwrap();
    assert_eq!(stations.len(), 20);
    for s in stations {
        assert!(contains(&fx.county, point(s)));
        assert!(["air", "water", "soil", "ecology"]
            .contains(&s["properties"]["kind"].as_str().unwrap()));
    }
}

/// Wraps a LineString's coordinates as a one-ring polygon's, to reuse `polygon_of`.
fn json_wrap(coords: &Json) -> Json {
    Json::Array(vec![coords.clone()])
}

#[test]
fn fifty_thousand_parcels_are_generated_and_timed() {
    let dir = scratch("timing");
    let started = Instant::now();
    let files = generate(
        &dir,
        &DemoOptions {
            parcels: 50_000,
            seed: 620_725,
        },
    )
    .unwrap();
    let elapsed = started.elapsed();
    let conn = Connection::open(dir.join("dltb_2024.gpkg")).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM DLTB", [], |r| r.get(0))
        .unwrap();
    println!(
        "demo generation with 50 000 parcels per year: {:.2} s, {} files, {n} parcels in 2024",
        elapsed.as_secs_f64(),
        files.len()
    );
    assert!((45_000..=55_000).contains(&n), "{n}");
    std::fs::remove_dir_all(dir).unwrap();
}
