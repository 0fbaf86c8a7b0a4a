//! The answers as files and documents, written once for the HTTP routes and the CLI: CSV for
//! the area series, the transition matrix and the change parcels, GeoJSON for the change
//! parcels, and the layers that place each change parcel for a caller.

use std::fmt::Write as _;

use onemap_schemas::authz::Principal;
use onemap_schemas::catalog::Catalog;
use serde_json::{json, Value};

use crate::query::{AreaSeries, ChangeParcels, Places, TransitionMatrix};

/// The layers [`Places`] looks up when the caller may see them.
const RESERVE_ZONES: &str = "reserve_zones";
const STATIONS: &str = "station_jurisdictions";
const VILLAGES: &str = "villages";

impl<'a> Places<'a> {
    /// The reserve zones, station jurisdictions and village points, each only if `who` may
    /// read it (a polygon layer that is not land use, for the first two).
    pub fn visible_to(catalog: &'a Catalog, who: &Principal) -> Self {
        let polygons = |id: &str| {
            catalog
                .layer(who, id)
                .filter(|l| l.geometry_type == "polygon" && !l.is_land_use())
        };
        Places {
            reserve_zones: polygons(RESERVE_ZONES),
            stations: polygons(STATIONS),
            villages: catalog.layer(who, VILLAGES),
        }
    }
}

impl AreaSeries {
    /// `year,class,area_m2`, one line per class and year.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("year,class,area_m2\n");
        for p in &self.series {
            let _ = writeln!(out, "{},{},{}", p.year, csv_field(&p.class), p.area_m2);
        }
        out
    }
}

impl TransitionMatrix {
    /// `from_year,to_year,from_class,to_class,area_m2`, one line per cell.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("from_year,to_year,from_class,to_class,area_m2\n");
        for c in &self.cells {
            let _ = writeln!(
                out,
                "{},{},{},{},{}",
                self.from,
                self.to,
                csv_field(&c.from_class),
                csv_field(&c.to_class),
                c.area_m2
            );
        }
        out
    }
}

impl ChangeParcels {
    /// One line per change parcel, its geometry as WKT in EPSG:4326.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "from_year,to_year,from_class,to_class,area_m2,from_fid,to_fid,wkt,zone,\
             zone_kind,village_code,village,station,station_code\n",
        );
        let opt = |v: &Option<String>| csv_field(v.as_deref().unwrap_or_default());
        for p in &self.parcels {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                self.from,
                self.to,
                csv_field(&p.from_class),
                csv_field(&p.to_class),
                p.area_m2,
                p.from_fid,
                p.to_fid,
                csv_field(&p.wkt),
                opt(&p.zone),
                opt(&p.zone_kind),
                opt(&p.village_code),
                opt(&p.village_name),
                opt(&p.station),
                opt(&p.station_code),
            );
        }
        out
    }

    /// A GeoJSON FeatureCollection (EPSG:4326) with the two years as foreign members.
    pub fn to_geojson(&self) -> Value {
        let features: Vec<Value> = self
            .parcels
            .iter()
            .map(|p| {
                json!({
                    "type": "Feature",
                    "properties": {
                        "from_year": self.from, "to_year": self.to,
                        "from_class": p.from_class, "to_class": p.to_class,
                        "area_m2": p.area_m2, "from_fid": p.from_fid, "to_fid": p.to_fid,
                        "zone": p.zone, "zone_kind": p.zone_kind,
                        "village_code": p.village_code, "village": p.village_name,
                        "station": p.station, "station_code": p.station_code,
                    },
                    "geometry": p.geometry,
                })
            })
            .collect();
        json!({
            "type": "FeatureCollection", "from": self.from, "to": self.to,
            "features": features,
        })
    }
}

/// A CSV field, quoted when it holds a separator, a quote or a line break (RFC 4180).
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::{AreaPoint, TransitionCell};

    #[test]
    fn csv_fields_with_separators_or_quotes_are_quoted_and_others_left_alone() {
        assert_eq!(csv_field("0101"), "0101");
        assert_eq!(csv_field("水田, 旱地"), "\"水田, 旱地\"");
        assert_eq!(csv_field("a \"b\""), "\"a \"\"b\"\"\"");
    }

    #[test]
    fn the_area_series_and_matrix_csv_have_one_line_per_point_and_cell() {
        let series = AreaSeries {
            unit: "m2",
            series: vec![AreaPoint {
                year: 2020,
                class: "01".into(),
                area_m2: 1.5,
            }],
        };
        assert_eq!(series.to_csv(), "year,class,area_m2\n2020,01,1.5\n");
        let matrix = TransitionMatrix {
            unit: "m2",
            from: 2020,
            to: 2021,
            cells: vec![TransitionCell {
                from_class: "01".into(),
                to_class: "05".into(),
                area_m2: 2.0,
            }],
            classes: vec![],
        };
        assert_eq!(
            matrix.to_csv(),
            "from_year,to_year,from_class,to_class,area_m2\n2020,2021,01,05,2\n"
        );
    }
}
