//! The fixed geography of the demo county: outline, Qilian reserve zones and station
//! jurisdictions, ecological red line, rivers, roads, villages, hydropower and monitoring
//! stations, all as context layers; the parcel generator reads the same geography.
//!
//! The south of the county is the Qilian Mountains reserve, cut into zones by three wavy
//! east–west curves (core southernmost, then buffer, then experimental); Longshoushan in the
//! north-east is a small separate reserve patch with elliptic core, buffer and experimental rings.

use std::f64::consts::PI;

use anyhow::Context;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::geom::{self, clip_meridian, dist_km, ellipse, point_in_ring, snap, Pt, Ring};
use super::{meta, ContextLayer, Feature, FieldKind, Format, Geom, LayerSpec, Value};

/// County code of Shandan (山丹县).
pub(crate) const COUNTY_CODE: &str = "620725";
/// The county town (山丹县城, 清泉镇).
pub(crate) const TOWN: Pt = [101.09, 38.78];
/// The industrial park north-west of the town.
pub(crate) const INDUSTRIAL_PARK: Pt = [101.03, 38.80];

const CENTER: Pt = [101.2, 38.42];
const HALF: Pt = [0.5, 0.6];
const OUTLINE_VERTICES: usize = 200;
/// Meridian between the Shandan Horse Ranch (west) and Dahuangshan (east) stations.
const STATION_SPLIT_X: f64 = 101.17;
/// Longshoushan reserve patch: centre, semi-axes (degrees), rotation.
const NORTH_CENTER: Pt = [101.38, 38.745];
const NORTH_A: f64 = 0.075;
const NORTH_B: f64 = 0.038;
const NORTH_ROT: f64 = 15.0;
const NORTH_CORE: f64 = 0.4;
const NORTH_BUFFER: f64 = 0.7;
/// Seed of the fixed parts of the geography (village placement, mine sites).
const GEO_SEED: u64 = 0x0053_4841_4E44_414E; // "SHANDAN"
const LAST_CHANGE: &str = "2024-12-31T00:00:00.000Z";

const VILLAGES_CSV: &str = include_str!("../../../schemas/data/shandan_villages.csv");

/// Reserve functional zone of a place (自然保护区条例 art. 18).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Zone {
    Outside,
    Experimental,
    Buffer,
    Core,
}

/// A village committee (or town community) with its synthetic location.
pub(crate) struct Village {
    pub code: String,
    pub name: String,
    pub pt: Pt,
}

/// A named line: river or road, with the land class its cells take.
pub(crate) struct Line {
    pub name: String,
    pub name_en: String,
    pub kind: &'static str,
    pub dlbm: &'static str,
    pub pts: Vec<Pt>,
}

struct Hydropower {
    name: &'static str,
    river: &'static str,
    pt: Pt,
    capacity_kw: i64,
    eco_flow_m3s: f64,
}

struct Monitoring {
    name: String,
    kind: &'static str,
    pt: Pt,
}

/// Where a zone curve crosses the county outline and its polyline between the crossings.
struct Cut {
    /// Outline edge index of the western crossing and the crossing point.
    west: (usize, Pt),
    east: (usize, Pt),
    /// West crossing, samples of the curve, east crossing.
    line: Vec<Pt>,
}

/// The whole fixed geography.
pub(crate) struct Geography {
    pub county: Ring,
    south_core: Ring,
    south_buffer: Ring,
    south_experimental: Ring,
    south_reserve: Ring,
    north_core: Ring,
    north_buffer: Ring,
    north_outer: Ring,
    pub rivers: Vec<Line>,
    pub roads: Vec<Line>,
    pub villages: Vec<Village>,
    hydropower: Vec<Hydropower>,
    monitoring: Vec<Monitoring>,
    /// Mine sites inside the reserve, retired and restored from 2020 on.
    pub reserve_mines: Vec<Pt>,
    /// Licensed mine sites outside the reserve.
    pub other_mines: Vec<Pt>,
}

fn smoothstep(t: f64) -> f64 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Northern limit of the southern reserve: higher in the east (Dahuangshan).
pub(crate) fn reserve_limit(x: f64) -> f64 {
    38.26 + 0.10 * smoothstep((x - 101.1) / 0.5) + 0.012 * (x * 37.0 + 1.0).sin()
}

fn buffer_limit(x: f64) -> f64 {
    reserve_limit(x) - 0.085 + 0.008 * (x * 53.0 + 2.0).sin()
}

fn core_limit(x: f64) -> f64 {
    reserve_limit(x) - 0.17 + 0.010 * (x * 29.0 + 0.3).sin()
}

/// Normalised radius of the county outline in direction `theta`: a smooth, irregular shape.
fn outline_radius(theta: f64) -> f64 {
    0.86 + 0.045 * (2.0 * theta + 0.7).cos()
        + 0.035 * (3.0 * theta + 2.1).cos()
        + 0.025 * (4.0 * theta + 4.0).cos()
        + 0.015 * (5.0 * theta + 1.3).cos()
        + 0.008 * (7.0 * theta + 5.5).cos()
}

fn county_outline() -> Ring {
    (0..OUTLINE_VERTICES)
        .map(|k| {
            let t = 2.0 * PI * k as f64 / OUTLINE_VERTICES as f64;
            let r = outline_radius(t);
            snap([
                CENTER[0] + HALF[0] * r * t.cos(),
                CENTER[1] + HALF[1] * r * t.sin(),
            ])
        })
        .collect()
}

fn cut(county: &[Pt], f: fn(f64) -> f64) -> anyhow::Result<Cut> {
    let g = |p: Pt| p[1] - f(p[0]);
    let n = county.len();
    let (mut west, mut east) = (Vec::new(), Vec::new());
    for i in 0..n {
        let (p, q) = (county[i], county[(i + 1) % n]);
        let (gp, gq) = (g(p), g(q));
        if (gp < 0.0) == (gq < 0.0) {
            continue;
        }
        let (mut lo, mut hi) = (0.0, 1.0);
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            let m = [p[0] + mid * (q[0] - p[0]), p[1] + mid * (q[1] - p[1])];
            if (g(m) < 0.0) == (gp < 0.0) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let t = 0.5 * (lo + hi);
        let x = snap([p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])]);
        if gp < 0.0 {
            east.push((i, x));
        } else {
            west.push((i, x));
        }
    }
    anyhow::ensure!(
        west.len() == 1 && east.len() == 1,
        "zone curve must cross the county outline twice"
    );
    let (west, east) = (west[0], east[0]);
    let step = 0.004;
    let mut line = vec![west.1];
    let mut x = west.1[0] + step;
    while x < east.1[0] - step / 2.0 {
        line.push(snap([x, f(x)]));
        x += step;
    }
    line.push(east.1);
    Ok(Cut { west, east, line })
}

/// Outline vertices after edge `from` up to and including the start of edge `to`, walking
/// counter-clockwise.
fn walk(county: &[Pt], from: usize, to: usize) -> impl Iterator<Item = Pt> + '_ {
    let n = county.len();
    let count = (to + n - from) % n;
    (1..=count).map(move |k| county[(from + k) % n])
}

/// The part of the county between the `lower` curve (or the southern outline) and `upper`.
fn band(county: &[Pt], lower: Option<&Cut>, upper: &Cut) -> Ring {
    let mut ring = Vec::new();
    match lower {
        None => {
            ring.extend(upper.line.iter().rev());
            ring.extend(walk(county, upper.west.0, upper.east.0));
        }
        Some(lower) => {
            ring.extend(lower.line.iter());
            ring.extend(walk(county, lower.east.0, upper.east.0));
            ring.extend(upper.line.iter().rev());
            ring.extend(walk(county, upper.west.0, lower.west.0));
        }
    }
    geom::dedup_ring(ring)
}

/// A polyline through `waypoints`, densified to about 0.004° with gentle meanders.
fn meander(waypoints: &[Pt], amplitude: f64, phase: f64) -> Vec<Pt> {
    let mut pts = Vec::new();
    let mut travelled = 0.0;
    for w in waypoints.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len = (dx * dx + dy * dy).sqrt();
        let steps = (len / 0.004).ceil().max(1.0) as usize;
        let (nx, ny) = (-dy / len, dx / len);
        for k in 0..steps {
            let t = k as f64 / steps as f64;
            let s = travelled + t * len;
            // Fade the meander out at the waypoints so confluences meet exactly.
            let off = amplitude * (s / 0.045 * 2.0 * PI + phase).sin() * (t * PI).sin();
            pts.push(snap([a[0] + t * dx + off * nx, a[1] + t * dy + off * ny]));
        }
        travelled += len;
    }
    pts.push(snap(*waypoints.last().expect("waypoints")));
    pts
}

/// The point at fraction `t` of a polyline's length (in degrees, fine at this scale).
fn along(line: &[Pt], t: f64) -> Pt {
    let lens: Vec<f64> = line
        .windows(2)
        .map(|w| ((w[1][0] - w[0][0]).powi(2) + (w[1][1] - w[0][1]).powi(2)).sqrt())
        .collect();
    let mut target = t * lens.iter().sum::<f64>();
    for (w, len) in line.windows(2).zip(&lens) {
        if target <= *len {
            let s = target / len;
            return snap([
                w[0][0] + s * (w[1][0] - w[0][0]),
                w[0][1] + s * (w[1][1] - w[0][1]),
            ]);
        }
        target -= len;
    }
    *line.last().expect("non-empty line")
}

/// Township (乡镇) centres by street code, and how far their villages spread (degrees).
const TOWNSHIPS: &[(&str, Pt, f64)] = &[
    ("620725101", [101.09, 38.78], 0.05),   // 清泉镇 (county town)
    ("620725102", [101.22, 38.665], 0.05),  // 位奇镇
    ("620725103", [100.96, 38.52], 0.05),   // 霍城镇
    ("620725104", [101.10, 38.63], 0.045),  // 陈户镇
    ("620725105", [101.27, 38.45], 0.05),   // 大马营镇
    ("620725106", [100.94, 38.735], 0.045), // 东乐镇
    ("620725203", [101.50, 38.57], 0.045),  // 老军乡
    ("620725204", [101.32, 38.58], 0.04),   // 李桥乡
    ("620725400", [101.10, 38.865], 0.02),  // 山丹农场
    ("620725402", [101.02, 38.36], 0.04),   // 山丹马场
];

impl Geography {
    /// Builds the geography; fails only if the fixed constants stop fitting together.
    pub(crate) fn build() -> anyhow::Result<Self> {
        let county = county_outline();
        let res = cut(&county, reserve_limit).context("reserve limit")?;
        let buf = cut(&county, buffer_limit).context("buffer limit")?;
        let core = cut(&county, core_limit).context("core limit")?;
        let south_reserve = band(&county, None, &res);
        let north_outer = ellipse(NORTH_CENTER, NORTH_A, NORTH_B, NORTH_ROT, 72);
        anyhow::ensure!(
            north_outer
                .iter()
                .all(|p| point_in_ring(*p, &county) && p[1] > reserve_limit(p[0]) + 0.05),
            "Longshoushan patch must lie inside the county, north of the southern reserve"
        );
        let mut geo = Geography {
            south_core: band(&county, None, &core),
            south_buffer: band(&county, Some(&core), &buf),
            south_experimental: band(&county, Some(&buf), &res),
            south_reserve,
            north_core: ellipse(
                NORTH_CENTER,
                NORTH_A * NORTH_CORE,
                NORTH_B * NORTH_CORE,
                NORTH_ROT,
                72,
            ),
            north_buffer: ellipse(
                NORTH_CENTER,
                NORTH_A * NORTH_BUFFER,
                NORTH_B * NORTH_BUFFER,
                NORTH_ROT,
                72,
            ),
            north_outer,
            county,
            rivers: Vec::new(),
            roads: Vec::new(),
            villages: Vec::new(),
            hydropower: Vec::new(),
            monitoring: Vec::new(),
            reserve_mines: Vec::new(),
            other_mines: Vec::new(),
        };
        let mut rng = SmallRng::seed_from_u64(GEO_SEED);
        geo.rivers = rivers();
        geo.villages = geo.place_villages(&mut rng)?;
        geo.roads = geo.roads();
        geo.hydropower = geo.hydropower();
        geo.monitoring = geo.monitoring();
        geo.place_mines(&mut rng);
        for p in geo
            .hydropower
            .iter()
            .map(|h| h.pt)
            .chain(geo.monitoring.iter().map(|m| m.pt))
        {
            anyhow::ensure!(geo.contains(p), "demo point {p:?} outside the county");
        }
        Ok(geo)
    }

    /// Locations of the hydropower stations.
    pub(crate) fn hydropower_points(&self) -> impl Iterator<Item = Pt> + '_ {
        self.hydropower.iter().map(|h| h.pt)
    }

    /// Whether `p` is inside the county outline.
    pub(crate) fn contains(&self, p: Pt) -> bool {
        point_in_ring(p, &self.county)
    }

    fn north_radius(p: Pt) -> f64 {
        let (s, c) = NORTH_ROT.to_radians().sin_cos();
        let (dx, dy) = (p[0] - NORTH_CENTER[0], p[1] - NORTH_CENTER[1]);
        let (u, v) = (dx * c + dy * s, -dx * s + dy * c);
        ((u / NORTH_A).powi(2) + (v / NORTH_B).powi(2)).sqrt()
    }

    /// Reserve zone at `p` and roughly how far (degrees) `p` is from the zone's edge.
    pub(crate) fn zone_at(&self, p: Pt) -> (Zone, f64) {
        let (x, y) = (p[0], p[1]);
        let (c, b, r) = (core_limit(x), buffer_limit(x), reserve_limit(x));
        if y < c {
            return (Zone::Core, c - y);
        }
        if y < b {
            return (Zone::Buffer, (y - c).min(b - y));
        }
        if y < r {
            return (Zone::Experimental, (y - b).min(r - y));
        }
        let rho = Self::north_radius(p);
        if rho < NORTH_CORE {
            (Zone::Core, (NORTH_CORE - rho) * NORTH_B)
        } else if rho < NORTH_BUFFER {
            (
                Zone::Buffer,
                (rho - NORTH_CORE).min(NORTH_BUFFER - rho) * NORTH_B,
            )
        } else if rho < 1.0 {
            (
                Zone::Experimental,
                (rho - NORTH_BUFFER).min(1.0 - rho) * NORTH_B,
            )
        } else {
            (Zone::Outside, (y - r).min((rho - 1.0) * NORTH_B))
        }
    }

    /// 0 at the reserve's northern limit rising to 1 at the county's southern edge: a stand-in
    /// for elevation in the Qilian mountains (negative north of the limit).
    pub(crate) fn mountain_height(&self, p: Pt) -> f64 {
        let top = reserve_limit(p[0]);
        (top - p[1]) / (top - 37.93)
    }

    /// Normalised radius within the Longshoushan patch (1 at its edge).
    pub(crate) fn longshou_radius(&self, p: Pt) -> f64 {
        Self::north_radius(p)
    }

    fn place_villages(&self, rng: &mut SmallRng) -> anyhow::Result<Vec<Village>> {
        let mut reader = csv::Reader::from_reader(VILLAGES_CSV.as_bytes());
        let mut villages: Vec<Village> = Vec::new();
        for row in reader.records() {
            let row = row.context("reading shandan_villages.csv")?;
            let (code, name, street) = (row[0].to_string(), row[1].to_string(), &row[2]);
            let &(_, center, spread) = TOWNSHIPS
                .iter()
                .find(|(s, _, _)| *s == street)
                .with_context(|| format!("no township centre for street code {street}"))?;
            let spread = if name.contains("社区") {
                0.012
            } else {
                spread
            };
            let mut chosen = None;
            for attempt in 0..400 {
                let p = snap([
                    center[0] + rng.gen_range(-spread..spread) * 1.25,
                    center[1] + rng.gen_range(-spread..spread),
                ]);
                let ok_place = self.contains(p)
                    && p[1] > reserve_limit(p[0]) + 0.03
                    && Self::north_radius(p) > 1.3
                    && clear_of_town(p, &name);
                let spaced = villages
                    .iter()
                    .all(|v| dist_km(v.pt, p) > if name.contains("社区") { 0.4 } else { 1.5 });
                if ok_place && (spaced || attempt > 300) {
                    chosen = Some(p);
                    break;
                }
            }
            let pt = chosen.with_context(|| format!("cannot place village {name}"))?;
            villages.push(Village { code, name, pt });
        }
        Ok(villages)
    }

    fn roads(&self) -> Vec<Line> {
        let line = |name: &str, name_en: &str, kind, dlbm, pts: Vec<Pt>| Line {
            name: name.to_string(),
            name_en: name_en.to_string(),
            kind,
            dlbm,
            pts,
        };
        let g30 = vec![
            [100.70, 38.885],
            [100.95, 38.815],
            [TOWN[0], 38.762],
            [101.30, 38.665],
            [101.50, 38.585],
            [101.72, 38.50],
        ];
        let rail: Vec<Pt> = g30.iter().map(|p| [p[0], p[1] - 0.016]).collect();
        let mut roads = vec![
            line(
                "连霍高速G30",
                "G30 Lianhuo Expressway",
                "highway",
                "1003",
                meander(&g30, 0.0, 0.0),
            ),
            line(
                "兰新铁路",
                "Lanzhou–Xinjiang Railway",
                "railway",
                "1001",
                meander(&rail, 0.0, 0.0),
            ),
            line(
                "国道G227",
                "National Road G227",
                "highway",
                "1003",
                meander(
                    &[
                        [TOWN[0], 38.762],
                        [101.14, 38.55],
                        [101.22, 38.35],
                        [101.27, 38.12],
                        [101.30, 37.90],
                    ],
                    0.004,
                    1.0,
                ),
            ),
        ];
        // Rural roads: each village links to its nearest neighbour closer to the town.
        let villages: Vec<&Village> = self
            .villages
            .iter()
            .filter(|v| !v.name.contains("社区"))
            .collect();
        for v in &villages {
            let d_town = dist_km(v.pt, TOWN);
            let target = villages
                .iter()
                .filter(|u| dist_km(u.pt, TOWN) < d_town)
                .map(|u| u.pt)
                .chain(std::iter::once(TOWN))
                .min_by(|a, b| dist_km(v.pt, *a).total_cmp(&dist_km(v.pt, *b)))
                .unwrap_or(TOWN);
            let short = v
                .name
                .trim_end_matches("村民委员会")
                .trim_end_matches("居委会")
                .trim_end_matches("居民委员会");
            roads.push(line(
                &format!("{short}村道"),
                &format!("{} rural road", v.code),
                "rural_road",
                "1006",
                vec![v.pt, target],
            ));
        }
        roads
    }

    fn hydropower(&self) -> Vec<Hydropower> {
        let on = |river: &str, t: f64| {
            let r = self
                .rivers
                .iter()
                .find(|r| r.name == river)
                .expect("known river");
            along(&r.pts, t)
        };
        let h = |name, river, t, capacity_kw, eco_flow_m3s| Hydropower {
            name,
            river,
            pt: on(river, t),
            capacity_kw,
            eco_flow_m3s,
        };
        vec![
            h("马营河一级水电站", "马营河", 0.06, 3200, 0.35),
            h("马营河二级水电站", "马营河", 0.13, 1600, 0.32),
            h("马营河三级水电站", "马营河", 0.21, 800, 0.28),
            h("霍城河一级水电站", "霍城河", 0.07, 2500, 0.30),
            h("霍城河二级水电站", "霍城河", 0.16, 1250, 0.24),
            h("霍城河三级水电站", "霍城河", 0.26, 640, 0.18),
        ]
    }

    fn monitoring(&self) -> Vec<Monitoring> {
        let river = |name: &str, t: f64| {
            along(
                &self
                    .rivers
                    .iter()
                    .find(|r| r.name == name)
                    .expect("known river")
                    .pts,
                t,
            )
        };
        let township = |street: &str| {
            TOWNSHIPS
                .iter()
                .find(|t| t.0 == street)
                .expect("known township")
                .1
        };
        let offset = |p: Pt, dx: f64, dy: f64| snap([p[0] + dx, p[1] + dy]);
        let m = |name: &str, kind, pt| Monitoring {
            name: name.to_string(),
            kind,
            pt,
        };
        vec![
            m("山丹县城空气自动监测站", "air", offset(TOWN, 0.004, 0.003)),
            m(
                "东乐镇空气监测点",
                "air",
                offset(township("620725106"), 0.006, 0.004),
            ),
            m(
                "位奇镇空气监测点",
                "air",
                offset(township("620725102"), -0.005, 0.006),
            ),
            m(
                "大马营镇空气监测点",
                "air",
                offset(township("620725105"), 0.004, 0.008),
            ),
            m("山丹河入境断面", "water", river("山丹河", 0.07)),
            m(
                "山丹河出境断面",
                "water",
                river("山丹河", self.exit_fraction("山丹河") - 0.02),
            ),
            m("马营河上游断面", "water", river("马营河", 0.30)),
            m("马营河下游断面", "water", river("马营河", 0.86)),
            m("霍城河上游断面", "water", river("霍城河", 0.34)),
            m("霍城河下游断面", "water", river("霍城河", 0.84)),
            m(
                "陈户镇土壤监测点",
                "soil",
                offset(township("620725104"), 0.012, -0.01),
            ),
            m(
                "霍城镇土壤监测点",
                "soil",
                offset(township("620725103"), -0.01, 0.012),
            ),
            m(
                "李桥乡土壤监测点",
                "soil",
                offset(township("620725204"), 0.01, 0.01),
            ),
            m(
                "老军乡土壤监测点",
                "soil",
                offset(township("620725203"), -0.012, -0.008),
            ),
            m("清泉镇土壤监测点", "soil", offset(TOWN, -0.03, -0.025)),
            m(
                "祁连山生态定位监测站（马场）",
                "ecology",
                [100.98, core_limit(100.98) - 0.025],
            ),
            m(
                "祁连山冰川冻土监测点",
                "ecology",
                [101.22, core_limit(101.22) - 0.05],
            ),
            m(
                "大黄山生态监测点",
                "ecology",
                [101.45, 0.5 * (buffer_limit(101.45) + reserve_limit(101.45))],
            ),
            m(
                "祁连山缓冲区生态监测点",
                "ecology",
                [101.06, 0.5 * (core_limit(101.06) + buffer_limit(101.06))],
            ),
            m(
                "龙首山生态监测点",
                "ecology",
                offset(NORTH_CENTER, 0.01, 0.0),
            ),
        ]
    }

    /// Fraction of a river's length where it last lies inside the county.
    fn exit_fraction(&self, name: &str) -> f64 {
        let line = &self
            .rivers
            .iter()
            .find(|r| r.name == name)
            .expect("known river")
            .pts;
        (0..=200)
            .map(|k| k as f64 / 200.0)
            .filter(|t| self.contains(along(line, *t)))
            .fold(0.0, f64::max)
    }

    fn place_mines(&mut self, rng: &mut SmallRng) {
        let b = geom::bbox(&self.county);
        let mut guard = 0;
        while self.reserve_mines.len() < 16 && guard < 10_000 {
            guard += 1;
            let p = [rng.gen_range(b[0]..b[2]), rng.gen_range(b[1]..b[3])];
            let (zone, margin) = self.zone_at(p);
            if zone == Zone::Experimental && margin > 0.006 && self.contains(p) {
                self.reserve_mines.push(snap(p));
            }
        }
        guard = 0;
        while self.other_mines.len() < 8 && guard < 10_000 {
            guard += 1;
            let t = rng.gen_range(0.0..2.0 * PI);
            let rho = rng.gen_range(1.15..1.8);
            let (s, c) = NORTH_ROT.to_radians().sin_cos();
            let (u, v) = (rho * NORTH_A * t.cos(), rho * NORTH_B * t.sin());
            let p = snap([
                NORTH_CENTER[0] + u * c - v * s,
                NORTH_CENTER[1] + u * s + v * c,
            ]);
            if self.contains(p) && self.villages.iter().all(|v| dist_km(v.pt, p) > 2.0) {
                self.other_mines.push(p);
            }
        }
    }

    /// The non-survey layers in load order.
    pub(crate) fn context_layers(&self) -> Vec<ContextLayer> {
        let text = |s: &str| Value::Text(s.to_string());
        let mut layers = Vec::new();

        layers.push(ContextLayer {
            file_name: "county.geojson",
            format: Format::GeoJson,
            spec: spec(
                "county",
                "Shandan County boundary (synthetic)",
                4326,
                "POLYGON",
                &[
                    ("name", FieldKind::Text),
                    ("name_en", FieldKind::Text),
                    ("code", FieldKind::Text),
                ],
            ),
            meta: meta(
                "county",
                "zrzy",
                "human_activity",
                "山丹县行政区",
                "Shandan County boundary",
            ),
            features: vec![Feature {
                geom: Geom::Polygon(vec![self.county.clone()]),
                values: vec![text("山丹县"), text("Shandan County"), text(COUNTY_CODE)],
            }],
        });

        let zone = |name: &str, zone: &str, name_en: &str, polys: Vec<Vec<Ring>>| Feature {
            geom: Geom::MultiPolygon(polys),
            values: vec![text(name), text(zone), text(name_en)],
        };
        layers.push(ContextLayer {
            file_name: "reserve_zones.gpkg",
            format: Format::GeoPackage,
            spec: spec(
                "reserve_zones",
                "Qilian Mountains reserve functional zones in Shandan (synthetic)",
                4326,
                "MULTIPOLYGON",
                &[
                    ("name", FieldKind::Text),
                    ("zone", FieldKind::Text),
                    ("name_en", FieldKind::Text),
                ],
            ),
            meta: meta(
                "reserve_zones",
                "lcj",
                "protected_areas",
                "祁连山自然保护区功能区",
                "Qilian reserve zones",
            ),
            features: vec![
                zone(
                    "核心区",
                    "core",
                    "Core zone",
                    vec![vec![self.south_core.clone()], vec![self.north_core.clone()]],
                ),
                zone(
                    "缓冲区",
                    "buffer",
                    "Buffer zone",
                    vec![
                        vec![self.south_buffer.clone()],
                        vec![self.north_buffer.clone(), self.north_core.clone()],
                    ],
                ),
                zone(
                    "实验区",
                    "experimental",
                    "Experimental zone",
                    vec![
                        vec![self.south_experimental.clone()],
                        vec![self.north_outer.clone(), self.north_buffer.clone()],
                    ],
                ),
            ],
        });

        let station = |name: &str, code: &str, name_en: &str, ring: Ring| Feature {
            geom: Geom::Polygon(vec![ring]),
            values: vec![text(name), text(code), text(name_en)],
        };
        layers.push(ContextLayer {
            file_name: "station_jurisdictions.geojson",
            format: Format::GeoJson,
            spec: spec(
                "station_jurisdictions",
                "Reserve station jurisdictions (synthetic)",
                4326,
                "POLYGON",
                &[
                    ("name", FieldKind::Text),
                    ("station", FieldKind::Text),
                    ("name_en", FieldKind::Text),
                ],
            ),
            meta: meta(
                "station_jurisdictions",
                "lcj",
                "protected_areas",
                "保护站管护范围",
                "Reserve station jurisdictions",
            ),
            features: vec![
                station(
                    "龙首山自然保护站",
                    "lsz",
                    "Longshoushan Reserve Station",
                    self.north_outer.clone(),
                ),
                station(
                    "大黄山自然保护站",
                    "dhs",
                    "Dahuangshan Reserve Station",
                    clip_meridian(&self.south_reserve, STATION_SPLIT_X, false),
                ),
                station(
                    "山丹马场自然保护站",
                    "mczz",
                    "Shandan Horse Ranch Reserve Station",
                    clip_meridian(&self.south_reserve, STATION_SPLIT_X, true),
                ),
            ],
        });

        layers.push(ContextLayer {
            file_name: "ecological_red_line.gpkg",
            format: Format::GeoPackage,
            spec: spec(
                "ecological_red_line",
                "Ecological protection red line (synthetic)",
                4326,
                "MULTIPOLYGON",
                &[
                    ("name", FieldKind::Text),
                    ("name_en", FieldKind::Text),
                    ("function", FieldKind::Text),
                ],
            ),
            meta: meta(
                "ecological_red_line",
                "sthj",
                "protected_areas",
                "生态保护红线",
                "Ecological protection red line",
            ),
            features: vec![Feature {
                geom: Geom::MultiPolygon(vec![
                    vec![self.south_reserve.clone()],
                    vec![self.north_outer.clone()],
                ]),
                values: vec![
                    text("祁连山水源涵养与生物多样性维护生态保护红线"),
                    text("Qilian water conservation and biodiversity red line"),
                    text("水源涵养"),
                ],
            }],
        });

        layers.push(ContextLayer {
            file_name: "rivers.geojson",
            format: Format::GeoJson,
            spec: spec(
                "rivers",
                "Rivers (synthetic courses)",
                4326,
                "LINESTRING",
                &[("name", FieldKind::Text), ("name_en", FieldKind::Text)],
            ),
            meta: meta("rivers", "sw", "water", "河流", "Rivers"),
            features: self
                .rivers
                .iter()
                .map(|r| Feature {
                    geom: Geom::LineString(r.pts.clone()),
                    values: vec![text(&r.name), text(&r.name_en)],
                })
                .collect(),
        });

        layers.push(ContextLayer {
            file_name: "hydropower.geojson",
            format: Format::GeoJson,
            spec: spec(
                "hydropower",
                "Small hydropower stations with ecological flow targets",
                4326,
                "POINT",
                &[
                    ("name", FieldKind::Text),
                    ("river", FieldKind::Text),
                    ("capacity_kw", FieldKind::Int),
                    ("eco_flow_m3s", FieldKind::Real),
                ],
            ),
            meta: meta("hydropower", "sw", "water", "水电站", "Hydropower stations"),
            features: self
                .hydropower
                .iter()
                .map(|h| Feature {
                    geom: Geom::Point(h.pt),
                    values: vec![
                        text(h.name),
                        text(h.river),
                        Value::Int(h.capacity_kw),
                        Value::Real(h.eco_flow_m3s),
                    ],
                })
                .collect(),
        });

        layers.push(ContextLayer {
            file_name: "monitoring_stations.geojson",
            format: Format::GeoJson,
            spec: spec(
                "monitoring_stations",
                "Ecological monitoring stations",
                4326,
                "POINT",
                &[("name", FieldKind::Text), ("kind", FieldKind::Text)],
            ),
            meta: meta(
                "monitoring_stations",
                "sthj",
                "monitoring",
                "生态监测站点",
                "Ecological monitoring stations",
            ),
            features: self
                .monitoring
                .iter()
                .map(|m| Feature {
                    geom: Geom::Point(m.pt),
                    values: vec![text(&m.name), text(m.kind)],
                })
                .collect(),
        });

        layers.push(ContextLayer {
            file_name: "roads.geojson",
            format: Format::GeoJson,
            spec: spec(
                "roads",
                "Roads and railways (synthetic courses)",
                4326,
                "LINESTRING",
                &[
                    ("name", FieldKind::Text),
                    ("name_en", FieldKind::Text),
                    ("kind", FieldKind::Text),
                ],
            ),
            meta: meta(
                "roads",
                "jtys",
                "human_activity",
                "交通线路",
                "Roads and railways",
            ),
            features: self
                .roads
                .iter()
                .map(|r| Feature {
                    geom: Geom::LineString(r.pts.clone()),
                    values: vec![text(&r.name), text(&r.name_en), text(r.kind)],
                })
                .collect(),
        });

        layers.push(ContextLayer {
            file_name: "villages.geojson",
            format: Format::GeoJson,
            spec: spec(
                "villages",
                "Village committees and communities (synthetic locations)",
                4326,
                "POINT",
                &[("code", FieldKind::Text), ("name", FieldKind::Text)],
            ),
            meta: meta("villages", "zrzy", "human_activity", "村庄", "Villages"),
            features: self
                .villages
                .iter()
                .map(|v| Feature {
                    geom: Geom::Point(v.pt),
                    values: vec![text(&v.code), text(&v.name)],
                })
                .collect(),
        });
        layers
    }
}

/// Keeps villages (not town communities) out of the built-up town itself.
fn clear_of_town(p: Pt, name: &str) -> bool {
    name.contains("社区") || dist_km(p, TOWN) > 3.5
}

fn spec(
    table: &'static str,
    description: &'static str,
    srs_id: i32,
    geometry_type: &'static str,
    fields: &'static [(&'static str, FieldKind)],
) -> LayerSpec {
    LayerSpec {
        table,
        description,
        srs_id,
        geometry_type,
        fields,
        last_change: LAST_CHANGE,
    }
}

/// 山丹河 through the county town to the north-west, 马营河 and 霍城河 from the Qilian
/// mountains north into it.
fn rivers() -> Vec<Line> {
    let junction_ma = [101.04, 38.786];
    let junction_huo = [100.93, 38.80];
    let river = |name: &str, name_en: &str, pts| Line {
        name: name.to_string(),
        name_en: name_en.to_string(),
        kind: "river",
        dlbm: "1101",
        pts,
    };
    vec![
        river(
            "山丹河",
            "Shandan River",
            meander(
                &[
                    [101.64, 38.48],
                    [101.45, 38.555],
                    [101.28, 38.655],
                    [101.16, 38.74],
                    junction_ma,
                    junction_huo,
                    [100.78, 38.89],
                ],
                0.006,
                0.0,
            ),
        ),
        river(
            "马营河",
            "Maying River",
            meander(
                &[
                    [101.32, 38.00],
                    [101.30, 38.10],
                    [101.24, 38.30],
                    [101.17, 38.50],
                    [101.11, 38.66],
                    junction_ma,
                ],
                0.005,
                1.7,
            ),
        ),
        river(
            "霍城河",
            "Huocheng River",
            meander(
                &[
                    [100.93, 38.04],
                    [100.95, 38.15],
                    [100.97, 38.35],
                    [100.93, 38.55],
                    [100.89, 38.70],
                    junction_huo,
                ],
                0.005,
                3.1,
            ),
        ),
    ]
}
