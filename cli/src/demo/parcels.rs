//! Land-use survey parcels (地类图斑, DLTB) for the survey years 2019–2024.
//!
//! 2019 is a jittered grid over the county, cells clipped to the outline, so the parcels tile
//! the county exactly; classes come from a spatial field (mountains, forest belt, glaciers,
//! irrigated plain, dry north, town, villages, roads, rivers, wetlands, mines). Each later year
//! starts from the previous one and applies the changes a trend analysis should find: mines in
//! the reserve retired and restored, construction around the town and villages, grazing land
//! recovering, cropland returned to forest and grass, a handful of illegal changes inside the
//! core and buffer zones (rectified two years later), and parcels split and merged, which get
//! new BSM/TBBH while unchanged parcels keep theirs.

use std::collections::HashMap;
use std::path::Path;

use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::county::{reserve_limit, Geography, Zone, COUNTY_CODE, INDUSTRIAL_PARK, TOWN};
use super::geom::{
    self, centroid, clip_to_convex, dist_km, dist_to_line_km, point_in_ring, ring_area_m2, snap,
    Pt, Ring,
};
use super::{gpkg, DemoFile, DemoOptions, Feature, FieldKind, Geom, LayerSpec, Value};

/// First and last survey year written.
pub(crate) const FIRST_YEAR: i32 = 2019;
pub(crate) const LAST_YEAR: i32 = 2024;

const GBT21010_CSV: &str = include_str!("../../../schemas/data/gbt21010.csv");
/// Working codes of the survey that GB/T 21010 does not list (kept, never dropped).
pub(crate) const WORKING_CODES: &[(&str, &str)] = &[
    ("00", "湿地"),
    ("201", "城市"),
    ("202", "建制镇"),
    ("203", "村庄"),
    ("204", "采矿用地"),
    ("205", "风景名胜及特殊用地"),
];

const DLTB_FIELDS: &[(&str, FieldKind)] = &[
    ("BSM", FieldKind::Text),
    ("TBBH", FieldKind::Text),
    ("DLBM", FieldKind::Text),
    ("DLMC", FieldKind::Text),
    ("QSDWDM", FieldKind::Text),
    ("ZLDWDM", FieldKind::Text),
    ("TBMJ", FieldKind::Real),
    ("KCMJ", FieldKind::Real),
    ("TBDLMJ", FieldKind::Real),
];
const LAST_CHANGE: [&str; 6] = [
    "2019-12-31T00:00:00.000Z",
    "2020-12-31T00:00:00.000Z",
    "2021-12-31T00:00:00.000Z",
    "2022-12-31T00:00:00.000Z",
    "2023-12-31T00:00:00.000Z",
    "2024-12-31T00:00:00.000Z",
];

const CROPLAND: &[&str] = &["0102", "0103"];
const NATURAL: &[&str] = &["0401", "0301", "0404", "0305"];
/// Classes whose land is state-owned (group code 0000000 in QSDWDM).
const STATE_OWNED: &[&str] = &[
    "1001", "1003", "1004", "1101", "1109", "1110", "0601", "0602", "0604", "0701", "0801", "0803",
    "0810", "0501", "201",
];
/// Cells of the grid may move by this fraction of the spacing; below 0.25 every cell stays a
/// convex quad, which the clipping relies on.
const JITTER: f64 = 0.2;

/// Code → Chinese name for GB/T 21010 and the working codes.
pub(crate) fn class_names() -> HashMap<&'static str, &'static str> {
    let mut names: HashMap<&'static str, &'static str> = GBT21010_CSV
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split(',');
            Some((cols.next()?, cols.next()?))
        })
        .collect();
    names.extend(WORKING_CODES.iter().copied());
    names
}

/// What a parcel's place says about it, fixed from 2019 on and inherited by splits and merges.
#[derive(Clone, Copy)]
struct Site {
    zone: Zone,
    /// Degrees from the zone's edge (only inner parcels take part in illegal changes).
    zone_margin: f64,
    town_km: f64,
    village_km: f64,
    /// Outside the reserve but within the foothills (candidates for returning cropland).
    foothill: bool,
    /// Share of a cropland parcel deducted for field ridges (KCMJ / TBMJ).
    ridge: f64,
    /// Inside a mine site of the reserve, to be retired.
    reserve_mine: bool,
}

#[derive(Clone)]
struct Parcel {
    bsm: u64,
    tbbh: u32,
    village: u16,
    group: u8,
    dlbm: &'static str,
    ring: Ring,
    /// Grid cell, while the parcel is still a whole unclipped cell.
    cell: Option<(u32, u32)>,
    site: Site,
}

/// The jittered grid: nodes shared by neighbouring cells.
struct Grid {
    x0: f64,
    y0: f64,
    dx: f64,
    dy: f64,
    ni: usize,
    nj: usize,
    nodes: Vec<Pt>,
}

impl Grid {
    fn new(geo: &Geography, parcels: usize, seed: u64) -> Self {
        let b = geom::bbox(&geo.county);
        let side_m = (ring_area_m2(&geo.county) / parcels as f64).sqrt();
        let mid_lat = 0.5 * (b[1] + b[3]);
        let dy = side_m / 110_950.0;
        let dx = side_m / (111_320.0 * mid_lat.to_radians().cos());
        let (x0, y0) = (b[0] - dx, b[1] - dy);
        let ni = ((b[2] - b[0]) / dx).ceil() as usize + 2;
        let nj = ((b[3] - b[1]) / dy).ceil() as usize + 2;
        let mut nodes = Vec::with_capacity((ni + 1) * (nj + 1));
        for j in 0..=nj {
            for i in 0..=ni {
                let h = hash3(seed, i as u64, j as u64);
                let jx = ((h & 0xFFFF) as f64 / 65535.0 - 0.5) * 2.0 * JITTER;
                let jy = (((h >> 16) & 0xFFFF) as f64 / 65535.0 - 0.5) * 2.0 * JITTER;
                nodes.push(snap([x0 + (i as f64 + jx) * dx, y0 + (j as f64 + jy) * dy]));
            }
        }
        Grid {
            x0,
            y0,
            dx,
            dy,
            ni,
            nj,
            nodes,
        }
    }

    fn node(&self, i: usize, j: usize) -> Pt {
        self.nodes[j * (self.ni + 1) + i]
    }

    /// The cell's corners, counter-clockwise from the south-west.
    fn quad(&self, i: usize, j: usize) -> [Pt; 4] {
        [
            self.node(i, j),
            self.node(i + 1, j),
            self.node(i + 1, j + 1),
            self.node(i, j + 1),
        ]
    }

    fn nominal(&self, p: Pt) -> (i64, i64) {
        (
            ((p[0] - self.x0) / self.dx).floor() as i64,
            ((p[1] - self.y0) / self.dy).floor() as i64,
        )
    }

    /// The cell whose quad holds `p`.
    fn cell_of(&self, p: Pt) -> Option<(usize, usize)> {
        let (i0, j0) = self.nominal(p);
        for dj in [0, -1, 1] {
            for di in [0, -1, 1] {
                let (i, j) = (i0 + di, j0 + dj);
                if i < 0 || j < 0 || i as usize >= self.ni || j as usize >= self.nj {
                    continue;
                }
                if point_in_ring(p, &self.quad(i as usize, j as usize)) {
                    return Some((i as usize, j as usize));
                }
            }
        }
        None
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn hash3(a: u64, b: u64, c: u64) -> u64 {
    splitmix(splitmix(splitmix(a) ^ b) ^ c.rotate_left(32))
}

/// Smooth value noise in [0, 1) with features about `scale` degrees across.
fn noise(seed: u64, octave: u64, p: Pt, scale: f64) -> f64 {
    let (u, v) = (p[0] / scale, p[1] / scale);
    let (iu, iv) = (u.floor(), v.floor());
    let (fu, fv) = (u - iu, v - iv);
    let (su, sv) = (fu * fu * (3.0 - 2.0 * fu), fv * fv * (3.0 - 2.0 * fv));
    let at = |di: i64, dj: i64| {
        let h = hash3(
            seed ^ octave.wrapping_mul(0xA24B_AED4_963E_E407),
            (iu as i64 + di) as u64,
            (iv as i64 + dj) as u64,
        );
        (h >> 11) as f64 / (1u64 << 53) as f64
    };
    let top = at(0, 1) + su * (at(1, 1) - at(0, 1));
    let bottom = at(0, 0) + su * (at(1, 0) - at(0, 0));
    bottom + sv * (top - bottom)
}

/// Distance to the nearest river on a coarse raster (0.01°), good enough for irrigation.
struct RiverDistance {
    b: [f64; 4],
    nx: usize,
    values: Vec<f64>,
}

impl RiverDistance {
    const STEP: f64 = 0.01;

    fn new(geo: &Geography) -> Self {
        let b = geom::bbox(&geo.county);
        let nx = ((b[2] - b[0]) / Self::STEP).ceil() as usize + 1;
        let ny = ((b[3] - b[1]) / Self::STEP).ceil() as usize + 1;
        let mut values = Vec::with_capacity(nx * ny);
        for y in 0..ny {
            for x in 0..nx {
                let p = [b[0] + x as f64 * Self::STEP, b[1] + y as f64 * Self::STEP];
                values.push(
                    geo.rivers
                        .iter()
                        .map(|r| dist_to_line_km(p, &r.pts))
                        .fold(f64::INFINITY, f64::min),
                );
            }
        }
        RiverDistance { b, nx, values }
    }

    fn km(&self, p: Pt) -> f64 {
        let x = (((p[0] - self.b[0]) / Self::STEP).round().max(0.0) as usize).min(self.nx - 1);
        let ny = self.values.len() / self.nx;
        let y = (((p[1] - self.b[1]) / Self::STEP).round().max(0.0) as usize).min(ny - 1);
        self.values[y * self.nx + x]
    }
}

/// The parcels of the current survey year and the counters that keep identifiers unique.
struct Survey {
    parcels: Vec<Parcel>,
    next_bsm: u64,
    /// Next free TBBH per village.
    next_tbbh: Vec<u32>,
    /// Illegal parcels (year, BSM) waiting for rectification.
    illegal: Vec<(i32, u64)>,
    /// Events per year, scaled with the parcel count.
    scale: f64,
}

/// Writes one DLTB GeoPackage per survey year and returns them in year order.
pub(crate) fn write_survey_years(
    geo: &Geography,
    opts: &DemoOptions,
    out_dir: &Path,
) -> anyhow::Result<Vec<DemoFile>> {
    let names = class_names();
    let mut survey = Survey::base(geo, opts);
    let mut files = Vec::new();
    for year in FIRST_YEAR..=LAST_YEAR {
        if year > FIRST_YEAR {
            let mut rng = SmallRng::seed_from_u64(hash3(opts.seed, 0x5945_4152, year as u64));
            survey.evolve(year, &mut rng);
        }
        let path = out_dir.join(format!("dltb_{year}.gpkg"));
        let spec = LayerSpec {
            table: "DLTB",
            description: "Annual land-use change survey parcels (synthetic)",
            srs_id: 4490,
            geometry_type: "POLYGON",
            fields: DLTB_FIELDS,
            last_change: LAST_CHANGE[(year - FIRST_YEAR) as usize],
        };
        let features = survey.parcels.iter().map(|p| feature(geo, p, &names));
        gpkg::write(&path, &spec, features)
            .map_err(|e| e.context(format!("writing {}", path.display())))?;
        files.push(DemoFile {
            path,
            layer: "dltb",
            department: "zrzy",
            theme: "land_use",
            title_zh: "地类图斑",
            title_en: "Land-use survey parcels",
            year: Some(year),
            class_field: Some("DLBM"),
        });
    }
    Ok(files)
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn feature(geo: &Geography, p: &Parcel, names: &HashMap<&'static str, &'static str>) -> Feature {
    let tbmj = round2(ring_area_m2(&p.ring).abs());
    let kcmj = if CROPLAND.contains(&p.dlbm) {
        round2(tbmj * p.site.ridge)
    } else {
        0.0
    };
    let village = &geo.villages[p.village as usize].code;
    let state = STATE_OWNED.contains(&p.dlbm) || p.site.zone != Zone::Outside;
    let owner_group = if state {
        "0000000".to_string()
    } else {
        format!("{:03}0000", p.group)
    };
    Feature {
        geom: Geom::Polygon(vec![p.ring.clone()]),
        values: vec![
            Value::Text(format!("{COUNTY_CODE}{:012}", p.bsm)),
            Value::Text(p.tbbh.to_string()),
            Value::Text(p.dlbm.to_string()),
            Value::Text(names.get(p.dlbm).copied().unwrap_or("未知").to_string()),
            Value::Text(format!("{village}{owner_group}")),
            Value::Text(format!("{village}0000000")),
            Value::Real(tbmj),
            Value::Real(kcmj),
            Value::Real(round2(tbmj - kcmj)),
        ],
    }
}

/// Picks a value by cumulative weights from `r` in [0, 1).
fn pick(r: f64, choices: &[(&'static str, f64)]) -> &'static str {
    let total: f64 = choices.iter().map(|c| c.1).sum();
    let mut acc = 0.0;
    for (code, w) in choices {
        acc += w / total;
        if r < acc {
            return code;
        }
    }
    choices[choices.len() - 1].0
}

/// The class of the natural and agricultural background at `c`.
fn background_class(
    geo: &Geography,
    seed: u64,
    c: Pt,
    site: &Site,
    rivers: &RiverDistance,
    r: f64,
) -> &'static str {
    let n1 = noise(seed, 1, c, 0.03);
    let n2 = noise(seed, 2, c, 0.08);
    let n3 = noise(seed, 3, c, 0.02);
    let height = geo.mountain_height(c);
    if height > 0.0 {
        let e = height + 0.2 * (n2 - 0.5);
        return if e > 0.93 && n1 > 0.5 {
            "1110"
        } else if e > 0.85 {
            pick(r, &[("1207", 0.7), ("0404", 0.3)])
        } else if e > 0.55 {
            pick(r, &[("0401", 0.6), ("0404", 0.25), ("1207", 0.15)])
        } else if e > 0.2 {
            if n1 > 0.58 {
                "0301"
            } else if n1 > 0.45 {
                "0305"
            } else {
                pick(r, &[("0401", 0.8), ("0404", 0.2)])
            }
        } else {
            pick(r, &[("0401", 0.55), ("0404", 0.25), ("0305", 0.2)])
        };
    }
    if geo.longshou_radius(c) < 1.6 {
        return pick(
            n3,
            &[("0404", 0.45), ("1207", 0.25), ("0305", 0.2), ("0401", 0.1)],
        );
    }
    if site.foothill {
        return pick(
            n1,
            &[("0103", 0.35), ("0401", 0.25), ("0404", 0.2), ("0305", 0.2)],
        );
    }
    if c[1] > 38.86 + 0.04 * (n2 - 0.5) || (c[0] > 101.5 && c[1] > 38.64) {
        return pick(
            n3,
            &[("1205", 0.3), ("1204", 0.2), ("0404", 0.3), ("0103", 0.2)],
        );
    }
    if rivers.km(c) < 3.0 + 4.0 * n2 {
        return pick(r, &[("0102", 0.92), ("0307", 0.05), ("1107", 0.03)]);
    }
    if n1 < 0.6 {
        "0103"
    } else if n1 < 0.85 {
        "0404"
    } else {
        pick(r, &[("1206", 0.5), ("0404", 0.5)])
    }
}

impl Survey {
    /// The 2019 survey.
    fn base(geo: &Geography, opts: &DemoOptions) -> Self {
        let grid = Grid::new(geo, opts.parcels, opts.seed);
        let rivers = RiverDistance::new(geo);
        let (ni, nj) = (grid.ni, grid.nj);

        // Cells the outline passes near are clipped; the others are whole, in or out.
        let mut boundary = vec![false; ni * nj];
        let n = geo.county.len();
        for k in 0..n {
            let (p, q) = (geo.county[k], geo.county[(k + 1) % n]);
            let (a, b) = (
                grid.nominal([p[0].min(q[0]), p[1].min(q[1])]),
                grid.nominal([p[0].max(q[0]), p[1].max(q[1])]),
            );
            for j in (a.1 - 1).max(0)..=(b.1 + 1).min(nj as i64 - 1) {
                for i in (a.0 - 1).max(0)..=(b.0 + 1).min(ni as i64 - 1) {
                    boundary[j as usize * ni + i as usize] = true;
                }
            }
        }
        let min_area = 1e-4 * grid.dx * grid.dy;
        let mut cells: Vec<(Ring, Option<(u32, u32)>)> = Vec::new();
        let mut cell_index = vec![u32::MAX; ni * nj];
        for j in 0..nj {
            for i in 0..ni {
                let quad = grid.quad(i, j);
                let kept = if boundary[j * ni + i] {
                    let ring = clip_to_convex(&geo.county, &quad);
                    if ring.len() < 3 || geom::planar_signed_area(&ring) < min_area {
                        None
                    } else if ring.len() == 4 && ring.iter().all(|p| quad.contains(p)) {
                        Some((quad.to_vec(), Some((i as u32, j as u32))))
                    } else {
                        Some((ring, None))
                    }
                } else if geo.contains(centroid(&quad)) {
                    Some((quad.to_vec(), Some((i as u32, j as u32))))
                } else {
                    None
                };
                if let Some(cell) = kept {
                    cell_index[j * ni + i] = cells.len() as u32;
                    cells.push(cell);
                }
            }
        }

        let mut rng = SmallRng::seed_from_u64(hash3(opts.seed, 0x4241_5345, 2019));
        let mut parcels: Vec<Parcel> = Vec::with_capacity(cells.len());
        for (ring, cell) in cells {
            let c = centroid(&ring);
            let (village, village_km) = geo
                .villages
                .iter()
                .enumerate()
                .map(|(k, v)| (k, dist_km(c, v.pt)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .expect("villages");
            let (zone, zone_margin) = geo.zone_at(c);
            let limit = reserve_limit(c[0]);
            let site = Site {
                zone,
                zone_margin,
                town_km: dist_km(c, TOWN),
                village_km,
                foothill: zone == Zone::Outside && c[1] > limit && c[1] < limit + 0.07,
                ridge: 0.02 + 0.08 * noise(opts.seed, 4, c, 0.05),
                reserve_mine: false,
            };
            let v = geo.villages[village].pt;
            let angle = (c[1] - v[1]).atan2(c[0] - v[0]) + std::f64::consts::PI;
            let group = 1 + ((angle / (2.0 * std::f64::consts::PI) * 6.0) as u8).min(5);
            let r: f64 = rng.gen();
            let dlbm = background_class(geo, opts.seed, c, &site, &rivers, r);
            parcels.push(Parcel {
                bsm: 0,
                tbbh: 0,
                village: village as u16,
                group,
                dlbm,
                ring,
                cell,
                site,
            });
        }

        let lookup = |p: Pt| {
            grid.cell_of(p)
                .map(|(i, j)| cell_index[j * ni + i])
                .filter(|k| *k != u32::MAX)
                .map(|k| k as usize)
        };

        // Settlements: villages, the town and its industrial park.
        for p in parcels.iter_mut() {
            let c = centroid(&p.ring);
            let r: f64 = rng.gen();
            let n3 = noise(opts.seed, 3, c, 0.02);
            if p.site.zone == Zone::Outside && p.site.village_km < 0.45 + 0.3 * n3 {
                p.dlbm = pick(r, &[("0702", 0.75), ("203", 0.15), ("1202", 0.1)]);
            }
            if p.site.town_km < 2.6 + 0.8 * n3 {
                p.dlbm = pick(
                    r,
                    &[
                        ("0701", 0.55),
                        ("201", 0.1),
                        ("0801", 0.07),
                        ("0803", 0.08),
                        ("0810", 0.06),
                        ("1004", 0.07),
                        ("0501", 0.07),
                    ],
                );
            }
            if dist_km(c, INDUSTRIAL_PARK) < 1.3 {
                p.dlbm = pick(r, &[("0601", 0.85), ("0604", 0.15)]);
            }
        }
        // The cell under each village point is built up whatever the grid size; some carry the
        // survey's working class 203 (村庄) instead of the homestead class.
        for (n, v) in geo.villages.iter().enumerate() {
            if let Some(k) = lookup(v.pt) {
                if parcels[k].site.town_km > 3.5 {
                    parcels[k].dlbm = if n % 5 == 4 { "203" } else { "0702" };
                }
            }
        }

        // Mines: those inside the reserve are retired from 2020 on.
        for (sites, in_reserve) in [(&geo.reserve_mines, true), (&geo.other_mines, false)] {
            for site in sites.iter() {
                let hit = lookup(*site);
                for (k, p) in parcels.iter_mut().enumerate() {
                    if Some(k) == hit || dist_km(centroid(&p.ring), *site) < 0.7 {
                        p.dlbm = "0602";
                        p.site.reserve_mine = in_reserve;
                    }
                }
            }
        }

        // Lines: rural roads, then railway and highways, then rivers on top.
        let mut on_line = vec![false; parcels.len()];
        let step = grid.dx.min(grid.dy) / 3.0;
        let rural = geo.roads.iter().filter(|r| r.dlbm == "1006");
        let trunk = geo.roads.iter().filter(|r| r.dlbm != "1006");
        for line in rural.chain(trunk).chain(geo.rivers.iter()) {
            for w in line.pts.windows(2) {
                let len = ((w[1][0] - w[0][0]).powi(2) + (w[1][1] - w[0][1]).powi(2)).sqrt();
                let steps = (len / step).ceil().max(1.0) as usize;
                for s in 0..=steps {
                    let t = s as f64 / steps as f64;
                    let p = [
                        w[0][0] + t * (w[1][0] - w[0][0]),
                        w[0][1] + t * (w[1][1] - w[0][1]),
                    ];
                    if let Some(k) = lookup(p) {
                        // Rural roads start in the villages: leave the settlements built up.
                        if line.dlbm == "1006"
                            && (parcels[k].site.town_km < 2.5
                                || ["0702", "203"].contains(&parcels[k].dlbm))
                        {
                            continue;
                        }
                        parcels[k].dlbm = line.dlbm;
                        on_line[k] = true;
                    }
                }
            }
        }

        // Wetlands beside rivers.
        for k in 0..parcels.len() {
            if parcels[k].dlbm != "1101" {
                continue;
            }
            let Some((i, j)) = grid.cell_of(centroid(&parcels[k].ring)) else {
                continue;
            };
            for (di, dj) in [(-1i64, 0i64), (1, 0), (0, -1), (0, 1)] {
                let (ii, jj) = (i as i64 + di, j as i64 + dj);
                if ii < 0 || jj < 0 || ii as usize >= ni || jj as usize >= nj {
                    continue;
                }
                let m = cell_index[jj as usize * ni + ii as usize];
                if m == u32::MAX || on_line[m as usize] {
                    continue;
                }
                let p = &mut parcels[m as usize];
                let r: f64 = rng.gen();
                if p.site.zone != Zone::Outside || p.site.foothill {
                    if r < 0.3 && NATURAL.contains(&p.dlbm) {
                        p.dlbm = "0402";
                    }
                } else if r < 0.35 && p.site.town_km > 3.0 {
                    p.dlbm = pick(
                        r / 0.35,
                        &[("1108", 0.45), ("0402", 0.3), ("00", 0.15), ("1106", 0.1)],
                    );
                }
            }
        }

        for h in geo.hydropower_points() {
            if let Some(k) = lookup(h) {
                parcels[k].dlbm = "1109";
            }
        }

        // Stable identifiers: BSM county-wide, TBBH per village, in grid order.
        let mut next_tbbh = vec![1u32; geo.villages.len()];
        for (k, p) in parcels.iter_mut().enumerate() {
            p.bsm = k as u64 + 1;
            p.tbbh = next_tbbh[p.village as usize];
            next_tbbh[p.village as usize] += 1;
        }
        Survey {
            next_bsm: parcels.len() as u64 + 1,
            parcels,
            next_tbbh,
            illegal: Vec::new(),
            scale: opts.parcels as f64 / 50_000.0,
        }
    }

    fn count(&self, per_50k: f64, min: usize) -> usize {
        ((per_50k * self.scale).round() as usize).max(min)
    }

    /// A new parcel carved out of `from` with a fresh BSM and TBBH.
    fn derived(&mut self, from: &Parcel, ring: Ring, dlbm: &'static str) -> Parcel {
        let bsm = self.next_bsm;
        self.next_bsm += 1;
        let tbbh = self.next_tbbh[from.village as usize];
        self.next_tbbh[from.village as usize] += 1;
        Parcel {
            bsm,
            tbbh,
            village: from.village,
            group: from.group,
            dlbm,
            ring,
            cell: None,
            site: from.site,
        }
    }

    /// Up to `k` untouched parcels matching `filter`, chosen at random, marked touched.
    fn choose(
        &self,
        touched: &mut [bool],
        rng: &mut SmallRng,
        k: usize,
        filter: impl Fn(&Parcel) -> bool,
    ) -> Vec<usize> {
        let mut candidates: Vec<usize> = (0..self.parcels.len())
            .filter(|&i| !touched[i] && filter(&self.parcels[i]))
            .collect();
        candidates.shuffle(rng);
        candidates.truncate(k);
        for &i in &candidates {
            touched[i] = true;
        }
        candidates
    }

    /// Turns the previous year's survey into `year`'s.
    fn evolve(&mut self, year: i32, rng: &mut SmallRng) {
        let mut touched = vec![false; self.parcels.len()];

        // Illegal changes found two years ago have been rectified: the land is restored.
        let due: Vec<u64> = self
            .illegal
            .iter()
            .filter(|(y, _)| year - y >= 2)
            .map(|(_, b)| *b)
            .collect();
        self.illegal.retain(|(y, _)| year - y < 2);
        for (k, p) in self.parcels.iter_mut().enumerate() {
            if due.contains(&p.bsm) {
                p.dlbm = "0404";
                touched[k] = true;
            }
        }

        // Mines inside the reserve are retired (a quarter of those left each year) and the
        // restored grassland recovers to pasture.
        let mines = self
            .parcels
            .iter()
            .filter(|p| p.site.reserve_mine && p.dlbm == "0602")
            .count();
        for k in self.choose(&mut touched, rng, mines.div_ceil(4), |p| {
            p.site.reserve_mine && p.dlbm == "0602"
        }) {
            self.parcels[k].dlbm = "0404";
        }
        let n = self.count(40.0, 2);
        for k in self.choose(&mut touched, rng, n, |p| {
            p.site.zone != Zone::Outside && p.dlbm == "0404"
        }) {
            self.parcels[k].dlbm = "0401";
        }

        // Construction around the town and the villages.
        let n = self.count(25.0, 3);
        for k in self.choose(&mut touched, rng, n, |p| {
            p.site.town_km < 5.0 && CROPLAND.contains(&p.dlbm)
        }) {
            self.parcels[k].dlbm = pick(
                rng.gen(),
                &[("0701", 0.5), ("0601", 0.3), ("1003", 0.1), ("0810", 0.1)],
            );
        }
        let n = self.count(15.0, 2);
        for k in self.choose(&mut touched, rng, n, |p| {
            p.site.village_km < 1.2 && p.site.town_km > 5.0 && CROPLAND.contains(&p.dlbm)
        }) {
            self.parcels[k].dlbm = pick(rng.gen(), &[("0702", 0.7), ("1202", 0.3)]);
        }

        // Sloping cropland in the foothills returned to shrubland and grassland.
        let n = self.count(20.0, 2);
        for k in self.choose(&mut touched, rng, n, |p| {
            p.site.foothill && CROPLAND.contains(&p.dlbm)
        }) {
            self.parcels[k].dlbm = pick(rng.gen(), &[("0305", 0.5), ("0401", 0.5)]);
        }

        // A handful of illegal changes deep inside the core and buffer zones.
        let inner = |p: &Parcel| {
            matches!(p.site.zone, Zone::Core | Zone::Buffer)
                && p.site.zone_margin > 0.004
                && NATURAL.contains(&p.dlbm)
        };
        let n = 3 + (year % 3) as usize;
        for k in self.choose(&mut touched, rng, n, inner) {
            self.parcels[k].dlbm = pick(
                rng.gen(),
                &[("0602", 0.4), ("1006", 0.3), ("0601", 0.15), ("0702", 0.15)],
            );
            self.illegal.push((year, self.parcels[k].bsm));
        }

        // Splits: half a parcel changes. One of them each year is an illegal mining pit.
        let mut removed = vec![false; self.parcels.len()];
        let mut added = Vec::new();
        let illegal_split = self.choose(&mut touched, rng, 1, |p| p.cell.is_some() && inner(p));
        let n = self.count(20.0, 2);
        let splits = self.choose(&mut touched, rng, n, |p| {
            p.cell.is_some()
                && CROPLAND.contains(&p.dlbm)
                && (p.site.town_km < 8.0 || p.site.village_km < 1.5)
        });
        for (k, illegal) in illegal_split
            .into_iter()
            .map(|k| (k, true))
            .chain(splits.into_iter().map(|k| (k, false)))
        {
            let old = self.parcels[k].clone();
            let q = &old.ring;
            let mid = |a: Pt, b: Pt| snap([0.5 * (a[0] + b[0]), 0.5 * (a[1] + b[1])]);
            let (first, second) = if rng.gen_bool(0.5) {
                let (m1, m2) = (mid(q[0], q[1]), mid(q[3], q[2]));
                (vec![q[0], m1, m2, q[3]], vec![m1, q[1], q[2], m2])
            } else {
                let (m1, m2) = (mid(q[0], q[3]), mid(q[1], q[2]));
                (vec![q[0], q[1], m2, m1], vec![m1, m2, q[2], q[3]])
            };
            let changed = if illegal {
                "0602"
            } else if old.site.town_km < 5.0 {
                pick(rng.gen(), &[("0701", 0.5), ("0601", 0.5)])
            } else {
                pick(rng.gen(), &[("0702", 0.6), ("1202", 0.4)])
            };
            let a = self.derived(&old, first, old.dlbm);
            let b = self.derived(&old, second, changed);
            if illegal {
                self.illegal.push((year, b.bsm));
            }
            removed[k] = true;
            added.push(a);
            added.push(b);
        }

        // Merges: two whole neighbouring cropland cells become one (land consolidation or a
        // new facility).
        let mut by_cell: HashMap<(u32, u32), usize> = HashMap::new();
        for (k, p) in self.parcels.iter().enumerate() {
            if let Some(cell) = p.cell {
                if !touched[k] {
                    by_cell.insert(cell, k);
                }
            }
        }
        let n = self.count(20.0, 2);
        let mut pairs: Vec<(usize, usize)> = by_cell
            .iter()
            .filter_map(|(&(i, j), &k)| by_cell.get(&(i + 1, j)).map(|&m| (k, m)))
            .filter(|&(k, m)| {
                let (a, b) = (&self.parcels[k], &self.parcels[m]);
                CROPLAND.contains(&a.dlbm)
                    && CROPLAND.contains(&b.dlbm)
                    && a.site.zone == Zone::Outside
            })
            .collect();
        pairs.sort_unstable();
        pairs.shuffle(rng);
        let mut merged = 0;
        for (k, m) in pairs {
            if merged == n {
                break;
            }
            if touched[k] || touched[m] {
                continue;
            }
            touched[k] = true;
            touched[m] = true;
            let (a, b) = (self.parcels[k].clone(), &self.parcels[m].ring);
            // The quads share the edge a1–a2 = b0–b3; the union walks around both.
            let ring = vec![a.ring[0], a.ring[1], b[1], b[2], b[3], a.ring[3]];
            let dlbm = if rng.gen_bool(0.6) {
                a.dlbm
            } else {
                pick(rng.gen(), &[("0601", 0.5), ("1202", 0.5)])
            };
            added.push(self.derived(&a, ring, dlbm));
            removed[k] = true;
            removed[m] = true;
            merged += 1;
        }

        let mut k = 0;
        self.parcels.retain(|_| {
            k += 1;
            !removed[k - 1]
        });
        self.parcels.extend(added);
    }
}
