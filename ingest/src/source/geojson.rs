//! GeoJSON: a FeatureCollection (streamed feature by feature with serde, never held whole as a
//! tree) or a single Feature. The CRS is EPSG:4326 as RFC 7946 says, unless the file carries
//! the legacy (2008) `crs` member naming an EPSG code, as GDAL writes for other CRSs.
//!
//! The file is scanned twice: first cheaply, skipping the features, for `type` and `crs`
//! (which may come after `features`), then for the features themselves. Feature numbers are
//! 1-based positions in the `features` array; the stored `fid` is that number.

use std::fmt;
use std::path::{Path, PathBuf};

use geozero::error::{GeozeroError, Result as GeoResult};
use geozero::GeomProcessor;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer as _};
use serde_json::Value;

use super::{epsg_from_name, Crs, FeatureSource};
use crate::sink::RowSink;
use crate::IngestError;

/// An opened GeoJSON file, held in memory.
pub struct GeoJsonSource {
    file: PathBuf,
    bytes: Vec<u8>,
    single_feature: bool,
    crs: Result<Crs, String>,
}

impl GeoJsonSource {
    /// Checks the top level and reads the CRS.
    pub fn open(file: &Path, bytes: Vec<u8>) -> Result<Self, IngestError> {
        let mut state = ScanState::default();
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let result = de
            .deserialize_map(TopLevel {
                state: &mut state,
                on_feature: None,
            })
            .and_then(|()| de.end());
        if let Err(e) = result {
            return Err(state.error(file, e));
        }
        let single_feature = match state.kind.as_deref() {
            Some("FeatureCollection") => false,
            Some("Feature") => true,
            Some(other) => {
                return Err(IngestError::Malformed {
                    file: file.to_owned(),
                    detail: format!(
                        "top-level \"type\" is {other:?}; expected a FeatureCollection or a Feature"
                    ),
                });
            }
            None => {
                return Err(IngestError::Malformed {
                    file: file.to_owned(),
                    detail: "the top-level object has no \"type\" member".into(),
                });
            }
        };
        if !single_feature && !state.saw_features {
            return Err(IngestError::Malformed {
                file: file.to_owned(),
                detail: "the FeatureCollection has no \"features\" array".into(),
            });
        }
        Ok(Self {
            file: file.to_owned(),
            bytes,
            single_feature,
            crs: crs_of(state.crs.as_ref()),
        })
    }
}

/// RFC 7946 has no `crs` member: its absence (or null) means EPSG:4326.
fn crs_of(member: Option<&Value>) -> Result<Crs, String> {
    let Some(member) = member.filter(|v| !v.is_null()) else {
        return Ok(Crs {
            srid: 4326,
            source: "GeoJSON (RFC 7946: EPSG:4326)".into(),
        });
    };
    let name = member
        .get("properties")
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str);
    match name {
        Some(name) => match epsg_from_name(name) {
            Some(srid) => Ok(Crs {
                srid,
                source: format!("GeoJSON crs member {name}"),
            }),
            None => Err(format!(
                "the GeoJSON crs member names {name:?}, which is not an EPSG code"
            )),
        },
        None => Err(format!(
            "the GeoJSON crs member {member} is not a named CRS (only {{\"type\": \"name\", \
             \"properties\": {{\"name\": \"EPSG:NNNN\"}}}} is understood)"
        )),
    }
}

impl FeatureSource for GeoJsonSource {
    fn crs(&self) -> Option<Crs> {
        self.crs.as_ref().ok().cloned()
    }

    fn crs_problem(&self) -> String {
        self.crs.as_ref().err().cloned().unwrap_or_default()
    }

    fn read(&mut self, sink: &mut RowSink) -> Result<(), IngestError> {
        if self.single_feature {
            let feature: FeatureIn =
                serde_json::from_slice(&self.bytes).map_err(|e| IngestError::Feature {
                    file: self.file.clone(),
                    feature: 1,
                    field: None,
                    problem: e.to_string(),
                })?;
            return push_feature(sink, feature);
        }
        let mut state = ScanState::default();
        let mut on_feature = |f: FeatureIn| push_feature(sink, f);
        let mut de = serde_json::Deserializer::from_slice(&self.bytes);
        let result = de
            .deserialize_map(TopLevel {
                state: &mut state,
                on_feature: Some(&mut on_feature),
            })
            .and_then(|()| de.end());
        result.map_err(|e| state.error(&self.file, e))
    }
}

/// One feature as it appears in the file; geometry and properties are checked by hand so that
/// errors say what is wrong.
#[derive(Deserialize)]
struct FeatureIn {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    geometry: Value,
    #[serde(default)]
    properties: Value,
}

fn push_feature(sink: &mut RowSink, f: FeatureIn) -> Result<(), IngestError> {
    if let Some(kind) = f.kind.as_deref().filter(|k| *k != "Feature") {
        return Err(sink.feature_error(
            Some("type"),
            format!("\"type\" is {kind:?}, not \"Feature\""),
        ));
    }
    let props = match &f.properties {
        Value::Object(map) => Some(map),
        Value::Null => None,
        other => {
            return Err(sink.feature_error(
                Some("properties"),
                format!(
                    "properties must be an object or null, not {}",
                    json_type(other)
                ),
            ));
        }
    };
    if let Some(map) = props {
        if !sink.has_class_field() {
            for key in map.keys() {
                sink.see_attribute(key);
            }
        }
    }
    if f.geometry.is_null() {
        sink.skip(Some("geometry"), "null geometry (skipped)");
        return Ok(());
    }
    let fid = i64::try_from(sink.next_feature()).unwrap_or(i64::MAX);
    sink.push(
        fid,
        |buf| {
            match props {
                Some(map) => serde_json::to_writer(&mut *buf, map),
                None => serde_json::to_writer(&mut *buf, &serde_json::Map::new()),
            }
            .expect("writing JSON to memory cannot fail");
            Ok(())
        },
        |enc| process_geometry(&f.geometry, enc),
    )
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn bad(msg: impl Into<String>) -> GeozeroError {
    GeozeroError::Geometry(msg.into())
}

/// Drives `p` with a GeoJSON geometry object.
fn process_geometry<P: GeomProcessor>(g: &Value, p: &mut P) -> GeoResult<()> {
    let Value::Object(obj) = g else {
        return Err(bad(format!(
            "geometry must be an object, not {}",
            json_type(g)
        )));
    };
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("geometry has no \"type\""))?;
    if kind == "GeometryCollection" {
        return Err(bad(
            "GeometryCollection geometries are not supported yet; split them by type",
        ));
    }
    let coords = obj
        .get("coordinates")
        .ok_or_else(|| bad(format!("{kind} has no \"coordinates\"")))?;
    match kind {
        "Point" => {
            p.point_begin(0)?;
            position(coords, kind, p, 0)?;
            p.point_end(0)
        }
        "MultiPoint" => {
            let pts = array(coords, kind)?;
            p.multipoint_begin(pts.len(), 0)?;
            for (i, pt) in pts.iter().enumerate() {
                position(pt, kind, p, i)?;
            }
            p.multipoint_end(0)
        }
        "LineString" => line(coords, kind, true, p, 0),
        "MultiLineString" => {
            let lines = array(coords, kind)?;
            p.multilinestring_begin(lines.len(), 0)?;
            for (i, l) in lines.iter().enumerate() {
                line(l, kind, false, p, i)?;
            }
            p.multilinestring_end(0)
        }
        "Polygon" => polygon(coords, kind, true, p, 0),
        "MultiPolygon" => {
            let polys = array(coords, kind)?;
            p.multipolygon_begin(polys.len(), 0)?;
            for (i, poly) in polys.iter().enumerate() {
                polygon(poly, kind, false, p, i)?;
            }
            p.multipolygon_end(0)
        }
        other => Err(bad(format!("unknown geometry type {other:?}"))),
    }
}

fn array<'v>(v: &'v Value, kind: &str) -> GeoResult<&'v Vec<Value>> {
    v.as_array().ok_or_else(|| {
        bad(format!(
            "{kind} coordinates: expected an array, found {}",
            json_type(v)
        ))
    })
}

fn position<P: GeomProcessor>(v: &Value, kind: &str, p: &mut P, idx: usize) -> GeoResult<()> {
    let xy = v.as_array().and_then(|a| {
        if a.len() < 2 {
            return None;
        }
        Some((a[0].as_f64()?, a[1].as_f64()?))
    });
    match xy {
        Some((x, y)) => p.xy(x, y, idx),
        None => Err(bad(format!(
            "{kind} coordinates: position {} is {v}, not [x, y] numbers",
            idx + 1
        ))),
    }
}

fn line<P: GeomProcessor>(
    v: &Value,
    kind: &str,
    tagged: bool,
    p: &mut P,
    idx: usize,
) -> GeoResult<()> {
    let pts = array(v, kind)?;
    p.linestring_begin(tagged, pts.len(), idx)?;
    for (i, pt) in pts.iter().enumerate() {
        position(pt, kind, p, i)?;
    }
    p.linestring_end(tagged, idx)
}

fn polygon<P: GeomProcessor>(
    v: &Value,
    kind: &str,
    tagged: bool,
    p: &mut P,
    idx: usize,
) -> GeoResult<()> {
    let rings = array(v, kind)?;
    p.polygon_begin(tagged, rings.len(), idx)?;
    for (i, ring) in rings.iter().enumerate() {
        line(ring, kind, false, p, i)?;
    }
    p.polygon_end(tagged, idx)
}

/// What the top-level scan found, and where it stopped.
#[derive(Default)]
struct ScanState {
    kind: Option<String>,
    crs: Option<Value>,
    saw_features: bool,
    in_features: bool,
    /// Features fully handled so far.
    done: u64,
    /// The handler's own error, which serde only saw as a message.
    failure: Option<IngestError>,
}

impl ScanState {
    fn error(&mut self, file: &Path, e: serde_json::Error) -> IngestError {
        if let Some(failure) = self.failure.take() {
            return failure;
        }
        if self.in_features {
            IngestError::Feature {
                file: file.to_owned(),
                feature: self.done + 1,
                field: None,
                problem: e.to_string(),
            }
        } else {
            IngestError::Malformed {
                file: file.to_owned(),
                detail: e.to_string(),
            }
        }
    }
}

type OnFeature<'r, 'f> = &'r mut (dyn FnMut(FeatureIn) -> Result<(), IngestError> + 'f);

/// The top-level object; with `on_feature` each feature is handed over as it is parsed,
/// without it features are skipped.
struct TopLevel<'s, 'f> {
    state: &'s mut ScanState,
    on_feature: Option<OnFeature<'f, 'f>>,
}

impl<'de> Visitor<'de> for TopLevel<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "type" => self.state.kind = map.next_value::<Option<String>>()?,
                "crs" => self.state.crs = Some(map.next_value::<Value>()?),
                "features" => {
                    self.state.saw_features = true;
                    self.state.in_features = true;
                    map.next_value_seed(Features {
                        state: &mut *self.state,
                        on_feature: self.on_feature.as_deref_mut(),
                    })?;
                    self.state.in_features = false;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct Features<'s, 'r, 'f> {
    state: &'s mut ScanState,
    on_feature: Option<OnFeature<'r, 'f>>,
}

impl<'de> DeserializeSeed<'de> for Features<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Features<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of features")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        match self.on_feature {
            None => {
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    self.state.done += 1;
                }
            }
            Some(handle) => {
                while let Some(feature) = seq.next_element::<FeatureIn>()? {
                    if let Err(e) = handle(feature) {
                        self.state.failure = Some(e);
                        return Err(de::Error::custom("feature refused"));
                    }
                    self.state.done += 1;
                }
            }
        }
        Ok(())
    }
}
