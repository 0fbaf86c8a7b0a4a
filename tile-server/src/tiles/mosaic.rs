//! Area-true land-use mosaics for low zooms (issue 8, item 1).
//!
//! Below z12 a land-use parcel is a pixel or less. Drawing (or dissolving) the parcels keeps
//! every boundary between classes, and on a 1 000 000-parcel survey those boundaries alone
//! make z7–z10 tiles of a megabyte. A mosaic instead divides each tile into square cells (256
//! a side up to z10, 2 px of a 512-px tile; cells never smaller than those of the
//! [`GRID_LEVEL`] grid, about 150 m, so 128 a side at z11) and shares them out between the
//! classes in proportion to the land each class has in the tile:
//!
//! 1. Each class's area in the tile, in tile units², is rounded to whole units; the rounding
//!    error is carried to the next tile, so the county-wide total of every class is right to
//!    within one unit² (at z8, about 30 m × 30 m).
//! 2. Whole cells go to classes, highest share of the cell first, as many as each class has
//!    whole cells' worth of land (so a cell goes to the class that covers most of it, as long
//!    as that class has land left to draw).
//! 3. What remains of each class (less than a cell, or whole cells it found no room for) is
//!    drawn as runs of units inside the cells left over, again where the class has the most
//!    land; a class with room nowhere near goes to the free cell nearest its land.
//!
//! So the area drawn per class equals the parcels' area per class (the tests hold z8 within
//! 1%, even for a class of a few parcels), the picture keeps where each class is to the
//! cell, and a tile holds at most 256² cells whatever the density of the parcels under it. Everything here is integer arithmetic on the tile-unit grid, so neighbouring cells
//! share exact edges and the database's union dissolves them.

use std::collections::{BTreeMap, HashMap};

/// Units of one tile side in the tile SQL (`{extent}`).
pub const EXTENT: i64 = 4096;
/// The finest grid: 2^18 cells around the world (153 m at the equator, 119 m in Shandan),
/// those of z10 with 256 cells a tile. The land is read once on this grid.
pub const GRID_LEVEL: u32 = 18;
/// Circumference of the Web-Mercator square, metres.
const EARTH: f64 = 40_075_016.685_578_49;

/// Side of a cell of the [`GRID_LEVEL`] grid, in Web-Mercator metres.
pub fn grid_cell_size() -> f64 {
    EARTH / (1_i64 << GRID_LEVEL) as f64
}

/// The cells of a tile at one zoom: `2^log2` a side.
#[derive(Clone, Copy, Debug)]
struct Cells {
    log2: u32,
}

impl Cells {
    fn at(zoom: u8) -> Self {
        Self {
            log2: 8.min(GRID_LEVEL.saturating_sub(u32::from(zoom))),
        }
    }
    /// Cells a tile side.
    fn side(self) -> i64 {
        1 << self.log2
    }
    fn count(self) -> usize {
        (self.side() * self.side()) as usize
    }
    /// Tile units a cell side.
    fn units(self) -> i64 {
        EXTENT / self.side()
    }
    /// Tile units² a cell.
    fn area(self) -> i64 {
        self.units() * self.units()
    }
}

/// Side of a tile unit at `zoom`, in Web-Mercator metres.
fn unit_size(zoom: u8) -> f64 {
    EARTH / ((1_i64 << zoom) * EXTENT) as f64
}

/// Land of one class in one cell of the [`GRID_LEVEL`] grid: `col` counts cells east from the
/// antimeridian, `row` south from the grid's north edge; `area` in Web-Mercator m².
#[derive(Clone, Copy, Debug)]
pub struct Piece {
    pub col: i64,
    pub row: i64,
    pub class: u32,
    pub area: f64,
}

/// A half-open rectangle of tile units in the zoom's world grid (x east from the antimeridian,
/// y south from the north edge).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub x0: i64,
    pub y0: i64,
    pub x1: i64,
    pub y1: i64,
}

#[cfg(test)]
impl Rect {
    /// Area in units².
    pub fn area(&self) -> i64 {
        (self.x1 - self.x0) * (self.y1 - self.y0)
    }
}

/// Land of one class in one cell of a tile: cell index (row-major), class, tile units².
type Entry = (usize, u32, f64);

/// What one class draws in one tile.
#[derive(Debug)]
pub struct Shape {
    pub class: u32,
    pub rects: Vec<Rect>,
}

/// The mosaic of every tile at `zoom` (at most z18) from pieces on the [`GRID_LEVEL`] grid.
pub fn mosaic(pieces: &[Piece], zoom: u8) -> Vec<Shape> {
    let cells = Cells::at(zoom);
    let shift = GRID_LEVEL - u32::from(zoom) - cells.log2;
    let (side, log2) = (cells.side(), cells.log2);
    let unit_area = unit_size(zoom).powi(2);
    let mut tiles: BTreeMap<(i64, i64), Vec<Entry>> = BTreeMap::new();
    for p in pieces {
        let (col, row) = (p.col >> shift, p.row >> shift);
        let cell = ((row & (side - 1)) * side + (col & (side - 1))) as usize;
        tiles.entry((col >> log2, row >> log2)).or_default().push((
            cell,
            p.class,
            p.area / unit_area,
        ));
    }
    let mut carry: HashMap<u32, f64> = HashMap::new();
    let mut shapes = Vec::new();
    for (tile, entries) in tiles {
        shapes.extend(share_out(cells, tile, entries, &mut carry));
    }
    shapes
}

/// Shares the cells of one tile out between its classes (steps 1–3 of the module's comment).
fn share_out(
    cells: Cells,
    tile: (i64, i64),
    mut entries: Vec<Entry>,
    carry: &mut HashMap<u32, f64>,
) -> Vec<Shape> {
    // One entry per cell and class.
    entries.sort_by_key(|e| (e.0, e.1));
    entries.dedup_by(|later, kept| {
        let same = (later.0, later.1) == (kept.0, kept.1);
        if same {
            kept.2 += later.2;
        }
        same
    });
    // Step 1: each class's land in whole units, the rounding carried on.
    let mut totals: BTreeMap<u32, f64> = BTreeMap::new();
    for &(_, class, units) in &entries {
        *totals.entry(class).or_default() += units;
    }
    let mut left: BTreeMap<u32, i64> = BTreeMap::new();
    for (class, units) in totals {
        let wanted = units + carry.get(&class).copied().unwrap_or(0.0);
        let drawn = wanted.round().max(0.0);
        carry.insert(class, wanted - drawn);
        left.insert(class, drawn as i64);
    }
    // Candidates: the biggest share of a cell first (ties in cell, then class order).
    let mut order = entries.clone();
    order.sort_by(|a, b| b.2.total_cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));

    let mut draw = Drawing::new(cells, tile);
    let cell_area = cells.area();
    // Step 2: whole cells.
    for &(cell, class, _) in &order {
        let units = left.get_mut(&class).expect("every class has a total");
        if *units >= cell_area && draw.is_free(cell) {
            draw.whole(cell, class);
            *units -= cell_area;
        }
    }
    // Step 3: the rest, in runs of units inside free cells, where the class has land…
    for &(cell, class, _) in &order {
        let units = left.get_mut(&class).expect("every class has a total");
        if *units > 0 {
            *units -= draw.part(cell, class, *units);
        }
    }
    // … or, failing that, in the free cells nearest its land.
    for (&class, units) in left.iter_mut().filter(|(_, u)| **u > 0) {
        let (mut sx, mut sy, mut sw) = (0.0, 0.0, 0.0);
        for &(cell, c, w) in &entries {
            if c == class {
                sx += w * (cell as i64 % cells.side()) as f64;
                sy += w * (cell as i64 / cells.side()) as f64;
                sw += w;
            }
        }
        let (cx, cy) = (
            sx / sw.max(f64::MIN_POSITIVE),
            sy / sw.max(f64::MIN_POSITIVE),
        );
        let mut free: Vec<usize> = (0..cells.count()).filter(|&c| draw.room(c) > 0).collect();
        let distance = |c: usize| {
            let (x, y) = (
                (c as i64 % cells.side()) as f64,
                (c as i64 / cells.side()) as f64,
            );
            (x - cx).powi(2) + (y - cy).powi(2)
        };
        free.sort_by(|&a, &b| distance(a).total_cmp(&distance(b)).then(a.cmp(&b)));
        for cell in free {
            if *units == 0 {
                break;
            }
            *units -= draw.part(cell, class, *units);
        }
    }
    draw.shapes()
}

/// The cells of one tile as they are handed out.
struct Drawing {
    cells: Cells,
    tile: (i64, i64),
    /// Whole cells by owner (`u32::MAX`: not whole).
    owner: Vec<u32>,
    /// Units of each cell taken by runs.
    used: Vec<i64>,
    runs: BTreeMap<u32, Vec<Rect>>,
}

impl Drawing {
    fn new(cells: Cells, tile: (i64, i64)) -> Self {
        let n = cells.count();
        Self {
            cells,
            tile,
            owner: vec![u32::MAX; n],
            used: vec![0; n],
            runs: BTreeMap::new(),
        }
    }

    fn is_free(&self, cell: usize) -> bool {
        self.owner[cell] == u32::MAX && self.used[cell] == 0
    }

    fn room(&self, cell: usize) -> i64 {
        if self.owner[cell] == u32::MAX {
            self.cells.area() - self.used[cell]
        } else {
            0
        }
    }

    fn whole(&mut self, cell: usize, class: u32) {
        self.owner[cell] = class;
    }

    /// Gives `class` up to `units` of the cell's free units (row by row from its top left),
    /// returning how many it got.
    fn part(&mut self, cell: usize, class: u32, units: i64) -> i64 {
        let take = units.min(self.room(cell));
        if take == 0 {
            return 0;
        }
        let (from, to) = (self.used[cell], self.used[cell] + take);
        self.used[cell] = to;
        let (x, y) = self.origin(cell);
        let rects = self.runs.entry(class).or_default();
        let side = self.cells.units();
        let (mut row, col) = (from / side, from % side);
        let (last_row, last_col) = (to / side, to % side);
        let mut push = |c0: i64, r0: i64, c1: i64, r1: i64| {
            if c1 > c0 && r1 > r0 {
                rects.push(Rect {
                    x0: x + c0,
                    y0: y + r0,
                    x1: x + c1,
                    y1: y + r1,
                });
            }
        };
        if row == last_row {
            push(col, row, last_col, row + 1);
            return take;
        }
        if col > 0 {
            push(col, row, side, row + 1);
            row += 1;
        }
        push(0, row, side, last_row);
        push(0, last_row, last_col, last_row + 1);
        take
    }

    /// The cell's top-left corner in world units.
    fn origin(&self, cell: usize) -> (i64, i64) {
        let (side, units) = (self.cells.side(), self.cells.units());
        let (col, row) = (cell as i64 % side, cell as i64 / side);
        (
            (self.tile.0 * side + col) * units,
            (self.tile.1 * side + row) * units,
        )
    }

    /// Each class's rectangles: whole cells merged into runs along each row, then its runs.
    fn shapes(self) -> Vec<Shape> {
        let mut by_class: BTreeMap<u32, Vec<Rect>> = BTreeMap::new();
        let (side, units) = (self.cells.side(), self.cells.units());
        for row in 0..side {
            let mut col = 0;
            while col < side {
                let class = self.owner[(row * side + col) as usize];
                let start = col;
                while col < side && self.owner[(row * side + col) as usize] == class {
                    col += 1;
                }
                if class != u32::MAX {
                    let (x0, y0) = self.origin((row * side + start) as usize);
                    by_class.entry(class).or_default().push(Rect {
                        x0,
                        y0,
                        x1: x0 + (col - start) * units,
                        y1: y0 + units,
                    });
                }
            }
        }
        for (class, rects) in self.runs {
            by_class.entry(class).or_default().extend(rects);
        }
        by_class
            .into_iter()
            .map(|(class, rects)| Shape { class, rects })
            .collect()
    }
}

/// A shape as WKB (a MultiPolygon of its rectangles, Web Mercator) at `zoom`.
pub fn wkb(shape: &Shape, zoom: u8) -> Vec<u8> {
    let unit = unit_size(zoom);
    let (x, y) = (
        |u: i64| -EARTH / 2.0 + u as f64 * unit,
        |u: i64| EARTH / 2.0 - u as f64 * unit,
    );
    let mut out = Vec::with_capacity(9 + shape.rects.len() * 93);
    out.push(1);
    out.extend(6_u32.to_le_bytes());
    out.extend((shape.rects.len() as u32).to_le_bytes());
    for r in &shape.rects {
        out.push(1);
        out.extend(3_u32.to_le_bytes());
        out.extend(1_u32.to_le_bytes());
        out.extend(5_u32.to_le_bytes());
        for (px, py) in [
            (r.x0, r.y0),
            (r.x0, r.y1),
            (r.x1, r.y1),
            (r.x1, r.y0),
            (r.x0, r.y0),
        ] {
            out.extend(x(px).to_le_bytes());
            out.extend(y(py).to_le_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The zoom whose tiles have one cell per [`GRID_LEVEL`] cell, 32 units a side.
    const DEEPEST: u8 = 11;

    /// Drawn units² per class over all shapes.
    fn drawn(shapes: &[Shape]) -> BTreeMap<u32, i64> {
        let mut out = BTreeMap::new();
        for s in shapes {
            *out.entry(s.class).or_default() += s.rects.iter().map(Rect::area).sum::<i64>();
        }
        out
    }

    fn units(zoom: u8, n: f64) -> f64 {
        n * unit_size(zoom).powi(2)
    }

    #[test]
    fn every_class_draws_its_area_to_the_unit_even_below_one_cell() {
        // A field of two big classes with a sprinkle of a tiny third one, at the deepest zoom.
        let mut pieces = Vec::new();
        for col in 0..300 {
            for row in 0..200 {
                let class = u32::from((col / 37 + row / 23) % 2 == 0);
                pieces.push(Piece {
                    col: 1_000_000 + col,
                    row: 500_000 + row,
                    class,
                    area: units(DEEPEST, 900.0),
                });
                if (col * 7 + row * 13) % 997 == 0 {
                    pieces.push(Piece {
                        col: 1_000_000 + col,
                        row: 500_000 + row,
                        class: 2,
                        area: units(DEEPEST, 3.3),
                    });
                }
            }
        }
        for zoom in [DEEPEST, 8, 3] {
            let shapes = mosaic(&pieces, zoom);
            let got = drawn(&shapes);
            for class in 0..3 {
                let truth: f64 = pieces
                    .iter()
                    .filter(|p| p.class == class)
                    .map(|p| p.area / unit_size(zoom).powi(2))
                    .sum();
                let got = got.get(&class).copied().unwrap_or(0);
                assert!(truth > 0.0);
                let error = (got as f64 - truth).abs();
                assert!(error <= 1.0, "z{zoom} class {class}: {got} for {truth}");
            }
        }
    }

    #[test]
    fn no_unit_is_drawn_twice_and_cells_go_to_the_class_that_covers_them() {
        let mut pieces = Vec::new();
        for col in 0..256 {
            for row in 0..256 {
                // Class 0 on the west half, class 1 on the east, cells fully covered.
                pieces.push(Piece {
                    col,
                    row,
                    class: u32::from(col >= 128),
                    area: units(DEEPEST, 32.0 * 32.0),
                });
            }
        }
        let shapes = mosaic(&pieces, DEEPEST - 1);
        let mut seen = vec![false; (EXTENT * EXTENT) as usize];
        for s in &shapes {
            for r in &s.rects {
                for y in r.y0..r.y1 {
                    for x in r.x0..r.x1 {
                        let unit = &mut seen[(y * EXTENT + x) as usize];
                        assert!(!*unit, "unit {x},{y} drawn twice");
                        *unit = true;
                    }
                }
                // One tile at z10 holds the 256 × 256 grid cells: the west half is class 0.
                let west = r.x1 <= EXTENT / 2;
                assert_eq!(s.class == 0, west, "{s:?}");
            }
        }
        assert!(seen.iter().all(|&u| u), "every unit is drawn");
    }

    #[test]
    fn a_tile_never_holds_more_rectangles_than_a_mosaic_allows() {
        // Worst case: every deepest cell a different class from its neighbours.
        let mut pieces = Vec::new();
        for col in 0..512 {
            for row in 0..512 {
                for class in 0..3 {
                    pieces.push(Piece {
                        col,
                        row,
                        class: ((col + row + class) % 5) as u32,
                        area: units(DEEPEST, 300.0),
                    });
                }
            }
        }
        for zoom in [DEEPEST, DEEPEST - 2] {
            let shapes = mosaic(&pieces, zoom);
            let mut per_tile: HashMap<(i64, i64), usize> = HashMap::new();
            for s in &shapes {
                for r in &s.rects {
                    *per_tile.entry((r.x0 / EXTENT, r.y0 / EXTENT)).or_default() += 1;
                }
            }
            // Whole cells (one rectangle at most) plus at most three per run.
            let bound = Cells::at(zoom).count() * 4;
            assert!(per_tile.values().all(|&n| n <= bound), "{per_tile:?}");
        }
    }

    #[test]
    fn wkb_is_a_multipolygon_of_closed_rectangles_on_the_unit_grid() {
        let shape = Shape {
            class: 0,
            rects: vec![Rect {
                x0: 0,
                y0: 0,
                x1: 32,
                y1: 32,
            }],
        };
        let bytes = wkb(&shape, 0);
        assert_eq!(bytes.len(), 9 + 9 + 4 + 5 * 16);
        let first_x = f64::from_le_bytes(bytes[22..30].try_into().unwrap());
        assert_eq!(first_x, -EARTH / 2.0);
        let third_x = f64::from_le_bytes(bytes[22 + 32..30 + 32].try_into().unwrap());
        assert!((third_x - (-EARTH / 2.0 + EARTH / 128.0)).abs() < 1e-6);
    }
}
