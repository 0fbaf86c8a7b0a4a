//! FlatGeobuf (`.fgb`), streamed feature by feature with the `flatgeobuf` crate (header and
//! features verified as they are read). The CRS comes from the header: an EPSG code (org `EPSG`
//! or none), else its WKT, identified like a `.prj` (and reported as the header's WKT).
//! Features are numbered from 1 in file order, which is also the stored fid (FlatGeobuf has
//! no feature ids).
//!
//! FlatGeobuf leaves a null property out of the feature; it is written as JSON null, so every
//! feature carries every column. Integer columns become JSON integers, floats reals, booleans
//! booleans, `Json` columns their JSON value, strings and date-times strings, binary hex.

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use flatgeobuf::{FallibleStreamingIterator, FgbReader, GeometryType};
use geozero::error::GeozeroError;
use geozero::{ColumnValue, FeatureProperties, GeozeroGeometry, PropertyProcessor};

use super::curves::Linearise;
use super::{Crs, FeatureSource};
use crate::sink::{FieldProblem, GeometryKind, RowSink};
use crate::IngestError;

type Reader = FgbReader<BufReader<std::fs::File>>;

/// An opened FlatGeobuf file.
pub struct FgbSource {
    file: PathBuf,
    reader: Option<Reader>,
    crs: Result<Crs, String>,
    wkt: Option<String>,
    declared: Option<GeometryKind>,
    zm: Option<&'static str>,
    /// `"name":` per column, in header order.
    keys: Vec<Vec<u8>>,
    names: Vec<String>,
}

impl FgbSource {
    /// Reads and verifies the header.
    pub fn open(file: &Path) -> Result<Self, IngestError> {
        let f = std::fs::File::open(file).map_err(IngestError::io(file))?;
        let reader = FgbReader::open(BufReader::with_capacity(1 << 16, f)).map_err(|e| {
            IngestError::Malformed {
                file: file.to_owned(),
                detail: format!("not a readable FlatGeobuf file: {e}"),
            }
        })?;
        let header = reader.header();
        let mut wkt = None;
        let crs = match header.crs() {
            None => Err("the FlatGeobuf header declares no coordinate reference system".into()),
            Some(c) => {
                let org = c.org().unwrap_or("EPSG");
                if c.code() > 0 && org.eq_ignore_ascii_case("EPSG") {
                    Ok(Crs {
                        srid: c.code(),
                        source: format!("FlatGeobuf header (EPSG:{})", c.code()),
                    })
                } else {
                    wkt = c.wkt().filter(|w| !w.trim().is_empty()).map(str::to_owned);
                    Err(format!(
                        "the FlatGeobuf header's CRS ({}{}) has no EPSG code{}",
                        org,
                        c.code_string()
                            .map(|s| format!(":{s}"))
                            .or((c.code() != 0).then(|| format!(":{}", c.code())))
                            .unwrap_or_default(),
                        if wkt.is_some() { "" } else { " and no WKT" }
                    ))
                }
            }
        };
        let declared = match header.geometry_type() {
            GeometryType::Point | GeometryType::MultiPoint => Some(GeometryKind::Point),
            GeometryType::LineString | GeometryType::MultiLineString => Some(GeometryKind::Line),
            GeometryType::Polygon | GeometryType::MultiPolygon => Some(GeometryKind::Polygon),
            _ => None,
        };
        let zm = match (header.has_z(), header.has_m()) {
            (true, true) => Some("Z and M"),
            (true, false) => Some("Z"),
            (false, true) => Some("M"),
            (false, false) => None,
        };
        let mut keys = Vec::new();
        let mut names = Vec::new();
        for c in header.columns().iter().flatten() {
            let mut key = serde_json::to_vec(c.name()).expect("a string serializes");
            key.push(b':');
            keys.push(key);
            names.push(c.name().to_owned());
        }
        Ok(Self {
            file: file.to_owned(),
            reader: Some(reader),
            crs,
            wkt,
            declared,
            zm,
            keys,
            names,
        })
    }
}

/// One feature's values, by column index, as JSON; reused from feature to feature.
struct Slots {
    values: Vec<Vec<u8>>,
    set: Vec<bool>,
    problem: Option<FieldProblem>,
}

impl PropertyProcessor for Slots {
    fn property(
        &mut self,
        idx: usize,
        name: &str,
        value: &ColumnValue,
    ) -> geozero::error::Result<bool> {
        let Some(out) = self.values.get_mut(idx) else {
            return Err(GeozeroError::Property(format!("no column {idx} ({name})")));
        };
        out.clear();
        let w = &mut *out;
        let json = |w: &mut Vec<u8>, v: &dyn erased::Json| v.write(w);
        match value {
            ColumnValue::Byte(v) => json(w, v),
            ColumnValue::UByte(v) => json(w, v),
            ColumnValue::Bool(v) => json(w, v),
            ColumnValue::Short(v) => json(w, v),
            ColumnValue::UShort(v) => json(w, v),
            ColumnValue::Int(v) => json(w, v),
            ColumnValue::UInt(v) => json(w, v),
            ColumnValue::Long(v) => json(w, v),
            ColumnValue::ULong(v) => json(w, v),
            ColumnValue::Float(v) if v.is_finite() => json(w, v),
            ColumnValue::Double(v) if v.is_finite() => json(w, v),
            ColumnValue::Float(_) | ColumnValue::Double(_) => w.extend_from_slice(b"null"),
            ColumnValue::String(s) | ColumnValue::DateTime(s) => json(w, s),
            ColumnValue::Json(s) => match serde_json::from_str::<serde_json::Value>(s) {
                Ok(v) => json(w, &v),
                Err(e) => {
                    self.problem = Some(FieldProblem {
                        field: name.to_owned(),
                        problem: format!("invalid JSON value: {e}"),
                    });
                    w.extend_from_slice(b"null");
                }
            },
            ColumnValue::Binary(b) => {
                w.push(b'"');
                w.extend_from_slice(hex::encode(b).as_bytes());
                w.push(b'"');
            }
        }
        self.set[idx] = true;
        Ok(false)
    }
}

/// Serialising the different value types through one small trait object.
mod erased {
    pub trait Json {
        fn write(&self, out: &mut Vec<u8>);
    }
    impl<T: serde::Serialize + ?Sized> Json for T {
        fn write(&self, out: &mut Vec<u8>) {
            serde_json::to_writer(out, self).expect("writing to memory");
        }
    }
}

impl FeatureSource for FgbSource {
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
        "FlatGeobuf header's CRS WKT".to_owned()
    }

    fn declared_kind(&self) -> Option<GeometryKind> {
        self.declared
    }

    fn read(&mut self, sink: &mut RowSink) -> Result<(), IngestError> {
        for n in &self.names {
            sink.see_attribute(n);
        }
        if let Some(zm) = self.zm {
            sink.note(format!("{zm} values dropped (FlatGeobuf with {zm})"));
        }
        let Some(reader) = self.reader.take() else {
            return Err(IngestError::Internal {
                file: self.file.clone(),
                detail: "the FlatGeobuf file was already read".into(),
            });
        };
        let malformed = |detail: String| IngestError::Malformed {
            file: self.file.clone(),
            detail,
        };
        let mut features = reader
            .select_all_seq()
            .map_err(|e| malformed(format!("cannot read the features: {e}")))?;
        let mut slots = Slots {
            values: vec![Vec::new(); self.keys.len()],
            set: vec![false; self.keys.len()],
            problem: None,
        };
        let mut linearised = 0u64;
        loop {
            let feature = match features.next() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(sink.feature_error(None, format!("unreadable feature: {e}"))),
            };
            slots.set.iter_mut().for_each(|s| *s = false);
            feature
                .process_properties(&mut slots)
                .map_err(|e| sink.feature_error(None, format!("unreadable properties: {e}")))?;
            if let Some(p) = slots.problem.take() {
                return Err(sink.feature_error(Some(&p.field), p.problem));
            }
            if feature.geometry().is_none() {
                sink.skip(Some("geometry"), "null geometry (skipped)");
                continue;
            }
            let fid = i64::try_from(sink.next_feature()).unwrap_or(i64::MAX);
            let (keys, slots_ref) = (&self.keys, &slots);
            let mut curved = false;
            sink.push(
                fid,
                |buf| {
                    buf.push(b'{');
                    for (i, key) in keys.iter().enumerate() {
                        if i > 0 {
                            buf.push(b',');
                        }
                        buf.extend_from_slice(key);
                        if slots_ref.set[i] {
                            buf.extend_from_slice(&slots_ref.values[i]);
                        } else {
                            buf.write_all(b"null").expect("writing to memory");
                        }
                    }
                    buf.push(b'}');
                    Ok(())
                },
                |enc| {
                    let mut linear = Linearise::new(enc);
                    let result = feature.process_geom(&mut linear);
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
        Ok(())
    }
}
