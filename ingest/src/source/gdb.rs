//! Esri File Geodatabase (a `.gdb` folder, as the land survey is often delivered) read through
//! GDAL's OpenFileGDB driver; built only with the cargo feature `gdal` (the system's GDAL,
//! Debian `libgdal-dev`). One feature class is loaded: the only one, or the one named by
//! `--source-layer`.
//!
//! The CRS is the layer's EPSG code when GDAL finds one; otherwise its WKT goes to
//! [`crate::crs`] like a shapefile's `.prj` (and is reported as the feature class's WKT).
//! Geometries leave GDAL as 2-D WKB (Z and M dropped, with a note; which ones, from the OGR
//! type code, see [`super::zm`]) and pass through [`Linearise`], so curves become lines and
//! polygons.
//! Attributes keep their types: integers and reals as JSON numbers (non-finite reals null),
//! dates as `YYYY-MM-DD`, date-times as `YYYY-MM-DDTHH:MM:SS+HH:MM`, text as strings, lists as arrays, nulls null.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use gdal::vector::{FieldValue, LayerAccess, OwnedLayer};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use geozero::GeozeroGeometry;

use super::curves::Linearise;
use super::zm::{zm_of, TypeCodes};
use super::{Crs, FeatureSource};
use crate::sink::{GeometryKind, RowSink};
use crate::IngestError;

/// An opened feature class of a File Geodatabase.
pub struct GdbSource {
    file: PathBuf,
    layer: OwnedLayer,
    name: String,
    crs: Result<Crs, String>,
    wkt: Option<String>,
    declared: Option<GeometryKind>,
}

impl GdbSource {
    /// Opens the geodatabase read-only and chooses its feature class.
    pub fn open(file: &Path, source_layer: Option<&str>) -> Result<Self, IngestError> {
        let malformed = |detail: String| IngestError::Malformed {
            file: file.to_owned(),
            detail,
        };
        let dataset = Dataset::open_ex(
            file,
            DatasetOptions {
                open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
                allowed_drivers: Some(&["OpenFileGDB", "FileGDB"]),
                ..DatasetOptions::default()
            },
        )
        .map_err(|e| malformed(format!("GDAL cannot open it as a File Geodatabase ({e})")))?;
        let mut names: Vec<String> = dataset
            .layers()
            .filter(|l| l.defn().geom_fields().next().is_some())
            .map(|l| l.name())
            .collect();
        names.sort();
        let name = super::choose_layer(
            file,
            &names,
            source_layer,
            "File Geodatabase",
            ("feature class", "feature classes"),
        )?;
        let layer = dataset
            .into_layer_by_name(&name)
            .map_err(|e| malformed(format!("cannot open feature class {name:?} ({e})")))?;
        let srs = layer.spatial_ref();
        let epsg = srs.as_ref().and_then(|s| {
            let org = s.auth_name()?;
            let code = s.auth_code().ok()?;
            (org.eq_ignore_ascii_case("EPSG") && code > 0).then_some(code)
        });
        let (crs, wkt) = match (epsg, &srs) {
            (Some(srid), _) => (
                Ok(Crs {
                    srid,
                    source: format!("File Geodatabase feature class {name:?} (EPSG:{srid})"),
                }),
                None,
            ),
            (None, Some(s)) => (
                Err(format!(
                    "the coordinate reference system of feature class {name:?} has no EPSG code"
                )),
                s.to_wkt().ok().filter(|w| !w.is_empty()),
            ),
            (None, None) => (
                Err(format!(
                    "feature class {name:?} declares no coordinate reference system"
                )),
                None,
            ),
        };
        let declared = layer
            .defn()
            .geom_fields()
            .next()
            .and_then(|g| kind_of(g.field_type()));
        Ok(Self {
            file: file.to_owned(),
            layer,
            name,
            crs,
            wkt,
            declared,
        })
    }
}

/// The dimension of an OGR geometry type (2.5D and ISO Z/M variants included).
fn kind_of(ogr_type: u32) -> Option<GeometryKind> {
    match (ogr_type & 0x0fff_ffff) % 1000 {
        1 | 4 => Some(GeometryKind::Point),
        2 | 5 | 8 | 9 | 11 => Some(GeometryKind::Line),
        3 | 6 | 10 | 12 => Some(GeometryKind::Polygon),
        _ => None,
    }
}

impl FeatureSource for GdbSource {
    fn crs(&self) -> Option<Crs> {
        self.crs.as_ref().ok().cloned()
    }

    fn crs_problem(&self) -> String {
        self.crs.as_ref().err().cloned().unwrap_or_default()
    }

    fn wkt(&self) -> Option<String> {
        self.wkt.clone()
    }

    fn wkt_origin(&self) -> String {
        format!("File Geodatabase feature class {:?}'s WKT", self.name)
    }

    fn declared_kind(&self) -> Option<GeometryKind> {
        self.declared
    }

    fn feature_count(&self) -> Option<u64> {
        self.layer.try_feature_count()
    }

    fn read(&mut self, sink: &mut RowSink) -> Result<(), IngestError> {
        for field in self.layer.defn().fields() {
            sink.see_attribute(&field.name());
        }
        let mut linearised = 0u64;
        let mut zm_dropped = BTreeSet::new();
        for feature in self.layer.features() {
            let fid = feature
                .fid()
                .and_then(|f| i64::try_from(f).ok())
                .unwrap_or_else(|| i64::try_from(sink.next_feature()).unwrap_or(i64::MAX));
            let Some(geometry) = feature.geometry() else {
                sink.skip(
                    Some("geometry"),
                    format!("fid {fid}: null geometry (skipped)"),
                );
                continue;
            };
            if let Some(zm) = zm_of(geometry.geometry_type(), TypeCodes::Ogr) {
                zm_dropped.insert(zm);
            }
            let mut flat = geometry.clone();
            flat.flatten_to_2d();
            let wkb = flat.wkb().map_err(|e| {
                sink.feature_error(
                    Some("geometry"),
                    format!("fid {fid}: GDAL cannot write the geometry as WKB ({e})"),
                )
            })?;
            let mut curved = false;
            sink.push(
                fid,
                |buf| {
                    write_props(buf, feature.fields());
                    Ok(())
                },
                |enc| {
                    let mut linear = Linearise::new(enc);
                    let result = geozero::wkb::Wkb(&wkb[..]).process_geom(&mut linear);
                    curved = linear.curved();
                    result
                },
            )?;
            linearised += u64::from(curved);
        }
        if linearised > 0 {
            sink.note(format!(
                "{linearised} curved geometries (CircularString, CompoundCurve, CurvePolygon, \
                 MultiCurve, MultiSurface) linearised, 32 segments per quarter circle"
            ));
        }
        for zm in zm_dropped {
            sink.note(format!(
                "{zm} values dropped (File Geodatabase geometries with {zm})"
            ));
        }
        tracing::debug!(file = %self.file.display(), layer = %self.name, "read the feature class");
        Ok(())
    }
}

/// Writes one feature's attributes as a JSON object.
fn write_props(buf: &mut Vec<u8>, fields: impl Iterator<Item = (String, Option<FieldValue>)>) {
    fn number(buf: &mut Vec<u8>, f: f64) {
        if f.is_finite() {
            serde_json::to_writer(&mut *buf, &f).expect("writing to memory");
        } else {
            buf.extend_from_slice(b"null");
        }
    }
    fn text(buf: &mut Vec<u8>, s: &str) {
        serde_json::to_writer(&mut *buf, s).expect("writing to memory");
    }
    fn list<T>(buf: &mut Vec<u8>, items: &[T], mut each: impl FnMut(&mut Vec<u8>, &T)) {
        buf.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            each(buf, item);
        }
        buf.push(b']');
    }
    buf.push(b'{');
    for (i, (name, value)) in fields.enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        text(buf, &name);
        buf.push(b':');
        match value {
            None => buf.extend_from_slice(b"null"),
            Some(FieldValue::IntegerValue(n)) => write!(buf, "{n}").expect("writing to memory"),
            Some(FieldValue::Integer64Value(n)) => write!(buf, "{n}").expect("writing to memory"),
            Some(FieldValue::RealValue(f)) => number(buf, f),
            Some(FieldValue::StringValue(s)) => text(buf, &s),
            Some(FieldValue::DateValue(d)) => text(buf, &d.to_string()),
            Some(FieldValue::DateTimeValue(d)) => text(
                buf,
                &format!("{}T{}{}", d.date_naive(), d.time(), d.offset()),
            ),
            Some(FieldValue::IntegerListValue(v)) => list(buf, &v, |b, n| {
                write!(b, "{n}").expect("writing to memory");
            }),
            Some(FieldValue::Integer64ListValue(v)) => list(buf, &v, |b, n| {
                write!(b, "{n}").expect("writing to memory");
            }),
            Some(FieldValue::RealListValue(v)) => list(buf, &v, |b, f| number(b, *f)),
            Some(FieldValue::StringListValue(v)) => list(buf, &v, |b, s| text(b, s)),
        }
    }
    buf.push(b'}');
}
