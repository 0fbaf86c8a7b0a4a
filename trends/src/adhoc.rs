//! Ad-hoc zones: a polygon a user draws or uploads, sent with the request as GeoJSON (a Polygon
//! or MultiPolygon geometry, a Feature holding one, or a FeatureCollection of them, which are
//! unioned) in EPSG:4326 longitude/latitude, or EPSG:4490 when its `crs` member says so.
//!
//! Nothing about such a zone can be precomputed, so its answers are computed on the fly, but
//! only where that is exact and cheap: the parcels of each survey year clipped to the zone (a
//! parcel wholly inside counts with its stored geodesic area), and the precomputed change
//! parcels clipped to it (see [`crate::query::area_series_in`] and friends).
//!
//! [`ZoneBody::parse`] checks the shape of the document in Rust, so that a malformed body gets
//! a message naming the feature, polygon, ring and position at fault; [`AdHocZone::prepare`]
//! then repairs invalid polygons (`ST_MakeValid`, reported in [`AdHocZone::repaired`]), unions
//! them and refuses a zone without area.

use serde_json::Value;
use tokio_postgres::Client;

use crate::{TrendsError, TrendsResult};

/// The largest request body an ad-hoc zone may come in (1 MiB).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The most vertices an ad-hoc zone may have, over all its polygons and rings.
pub const MAX_VERTICES: usize = 20_000;

/// A zone document whose shape has been checked: its polygons, rewritten as plain GeoJSON
/// Polygon geometries, and their SRID.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneBody {
    /// GeoJSON `Polygon` geometries (only their coordinates kept).
    pub polygons: Vec<String>,
    /// 4326 (the GeoJSON default) or 4490 (CGCS2000, named by the `crs` member).
    pub srid: i32,
    pub vertices: usize,
}

/// An ad-hoc zone ready for the queries: repaired, unioned, measured.
#[derive(Debug, Clone, PartialEq)]
pub struct AdHocZone {
    /// The zone as EWKB (a MultiPolygon in `srid`).
    pub ewkb: Vec<u8>,
    pub srid: i32,
    /// Its geodesic area.
    pub area_m2: f64,
    /// Why some polygon was invalid and had to be repaired (`None`: all were valid).
    pub repaired: Option<String>,
}

fn bad(message: String) -> TrendsError {
    TrendsError::BadRequest(format!("ad-hoc zone: {message}"))
}

impl ZoneBody {
    /// Reads a request body: at most [`MAX_BODY_BYTES`], JSON, one of the accepted GeoJSON
    /// objects, every ring closed with at least four positions, every position a finite
    /// longitude in −180…180 and latitude in −90…90, at most [`MAX_VERTICES`] positions.
    pub fn parse(body: &[u8]) -> TrendsResult<Self> {
        if body.len() > MAX_BODY_BYTES {
            return Err(bad(format!(
                "the body has {} bytes, more than the {MAX_BODY_BYTES} allowed",
                body.len()
            )));
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(bad(
                "the body is empty: send a GeoJSON Polygon or MultiPolygon (or a Feature or \
                 FeatureCollection of them) in EPSG:4326"
                    .into(),
            ));
        }
        let doc: Value =
            serde_json::from_slice(body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
        let srid = crs(&doc)?;
        let mut out = Self {
            polygons: Vec::new(),
            srid,
            vertices: 0,
        };
        match kind(&doc)? {
            "Polygon" | "MultiPolygon" => out.geometry(&doc, "the geometry")?,
            "Feature" => out.feature(&doc, "the feature")?,
            "FeatureCollection" => {
                let features = doc
                    .get("features")
                    .and_then(Value::as_array)
                    .ok_or_else(|| bad("the FeatureCollection has no features array".into()))?;
                for (i, f) in features.iter().enumerate() {
                    let what = format!("feature {i}");
                    match kind(f)? {
                        "Feature" => out.feature(f, &what)?,
                        other => return Err(bad(format!("{what} is a {other}, not a Feature"))),
                    }
                }
            }
            other => {
                return Err(bad(format!(
                    "a {other} is not a zone: send a Polygon or MultiPolygon geometry, a \
                     Feature or a FeatureCollection of them"
                )));
            }
        }
        if out.polygons.is_empty() {
            return Err(bad("it holds no polygon".into()));
        }
        Ok(out)
    }

    fn feature(&mut self, f: &Value, what: &str) -> TrendsResult<()> {
        match f.get("geometry") {
            Some(g) if g.is_object() => match kind(g)? {
                "Polygon" | "MultiPolygon" => self.geometry(g, &format!("{what}'s geometry")),
                other => Err(bad(format!(
                    "{what}'s geometry is a {other}, not a Polygon or MultiPolygon"
                ))),
            },
            _ => Err(bad(format!("{what} has no geometry"))),
        }
    }

    fn geometry(&mut self, g: &Value, what: &str) -> TrendsResult<()> {
        let coordinates = g
            .get("coordinates")
            .and_then(Value::as_array)
            .ok_or_else(|| bad(format!("{what} has no coordinates array")))?;
        if g.get("type").and_then(Value::as_str) == Some("Polygon") {
            return self.polygon(coordinates, what);
        }
        for (i, p) in coordinates.iter().enumerate() {
            let rings = p
                .as_array()
                .ok_or_else(|| bad(format!("{what}, polygon {i}: not an array of rings")))?;
            self.polygon(rings, &format!("{what}, polygon {i}"))?;
        }
        Ok(())
    }

    fn polygon(&mut self, rings: &[Value], what: &str) -> TrendsResult<()> {
        if rings.is_empty() {
            return Err(bad(format!("{what} has no rings")));
        }
        let mut clean = Vec::with_capacity(rings.len());
        for (r, ring) in rings.iter().enumerate() {
            let at = format!("{what}, ring {r}");
            let positions = ring
                .as_array()
                .ok_or_else(|| bad(format!("{at}: not an array of positions")))?;
            if positions.len() < 4 {
                return Err(bad(format!(
                    "{at} has {} positions; a ring needs at least 4 (the last repeating the first)",
                    positions.len()
                )));
            }
            let mut ring_out = Vec::with_capacity(positions.len());
            for (i, p) in positions.iter().enumerate() {
                ring_out.push(position(p, &format!("{at}, position {i}"))?);
            }
            if ring_out.first() != ring_out.last() {
                return Err(bad(format!(
                    "{at} is not closed: its last position must repeat its first"
                )));
            }
            self.vertices += ring_out.len();
            if self.vertices > MAX_VERTICES {
                return Err(bad(format!(
                    "more than {MAX_VERTICES} vertices; simplify the zone"
                )));
            }
            clean.push(ring_out);
        }
        self.polygons
            .push(serde_json::json!({ "type": "Polygon", "coordinates": clean }).to_string());
        Ok(())
    }
}

fn kind(v: &Value) -> TrendsResult<&str> {
    v.get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("a GeoJSON object without a \"type\"".into()))
}

/// A longitude/latitude pair (a third coordinate, the height, is dropped).
fn position(p: &Value, what: &str) -> TrendsResult<[f64; 2]> {
    let xy = p.as_array().filter(|a| (2..=3).contains(&a.len()));
    let (Some(lon), Some(lat)) = (
        xy.and_then(|a| a[0].as_f64()),
        xy.and_then(|a| a[1].as_f64()),
    ) else {
        return Err(bad(format!("{what}: not a [longitude, latitude] pair")));
    };
    if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
        return Err(bad(format!(
            "{what}: longitude {lon} is outside −180…180 (coordinates must be EPSG:4326 \
             longitude, latitude)"
        )));
    }
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(bad(format!(
            "{what}: latitude {lat} is outside −90…90 (coordinates must be EPSG:4326 \
             longitude, latitude)"
        )));
    }
    Ok([lon, lat])
}

/// The SRID the document's optional `crs` member names: EPSG:4326 / CRS84 (the default) or
/// EPSG:4490 (CGCS2000).
fn crs(doc: &Value) -> TrendsResult<i32> {
    let Some(crs) = doc.get("crs").filter(|c| !c.is_null()) else {
        return Ok(4326);
    };
    let name = crs
        .get("properties")
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .or_else(|| crs.as_str())
        .ok_or_else(|| {
            bad("crs must be {\"type\":\"name\",\"properties\":{\"name\":\"EPSG:4490\"}}".into())
        })?;
    let code = name
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_uppercase();
    match code.as_str() {
        "4326" | "CRS84" => Ok(4326),
        "4490" => Ok(4490),
        _ => Err(bad(format!(
            "crs {name:?} is not accepted: coordinates must be EPSG:4326 (the default) or \
             EPSG:4490 longitude, latitude"
        ))),
    }
}

impl AdHocZone {
    /// Repairs, unions and measures the checked polygons in PostGIS; refuses a zone without
    /// area (a polygon folded onto itself).
    pub async fn prepare(client: &Client, body: &ZoneBody) -> TrendsResult<Self> {
        let row = client
            .query_one(
                include_str!("sql/adhoc_zone.sql"),
                &[&body.polygons, &body.srid],
            )
            .await
            .map_err(|e| match e.as_db_error() {
                // PostGIS refusing the geometry: the caller's.
                Some(db) => bad(format!("PostGIS cannot read it: {}", db.message())),
                None => TrendsError::Postgres {
                    context: "reading the ad-hoc zone",
                    source: e,
                },
            })?;
        let area_m2: Option<f64> = row.get("area_m2");
        let ewkb: Option<Vec<u8>> = row.get("ewkb");
        let (Some(area_m2), Some(ewkb)) = (area_m2, ewkb) else {
            return Err(bad("it has no area".into()));
        };
        if area_m2 <= 0.0 {
            return Err(bad("it has no area".into()));
        }
        Ok(Self {
            ewkb,
            srid: body.srid,
            area_m2,
            repaired: row.get("repaired"),
        })
    }

    /// [`ZoneBody::parse`] then [`AdHocZone::prepare`].
    pub async fn from_body(client: &Client, body: &[u8]) -> TrendsResult<Self> {
        let parsed = ZoneBody::parse(body)?;
        Self::prepare(client, &parsed).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> String {
        ZoneBody::parse(body.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn a_polygon_a_feature_and_a_collection_are_read_with_their_crs() {
        let square =
            r#"{"type":"Polygon","coordinates":[[[101,38],[101.1,38],[101.1,38.1],[101,38]]]}"#;
        let body = ZoneBody::parse(square.as_bytes()).unwrap();
        assert_eq!(
            (body.polygons.len(), body.srid, body.vertices),
            (1, 4326, 4)
        );
        let feature = format!(
            r#"{{"type":"Feature","properties":{{}},"geometry":{square},"crs":{{"type":"name","properties":{{"name":"urn:ogc:def:crs:EPSG::4490"}}}}}}"#
        );
        assert_eq!(ZoneBody::parse(feature.as_bytes()).unwrap().srid, 4490);
        let multi = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[
              [[[101,38],[101.1,38],[101.1,38.1],[101,38]]],
              [[[102,38],[102.1,38],[102.1,38.1],[102,38]]]]}},
            {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[103,38],[103.1,38],[103.1,38.1],[103,38]]]}}]}"#;
        assert_eq!(ZoneBody::parse(multi.as_bytes()).unwrap().polygons.len(), 3);
    }

    #[test]
    fn malformed_zones_are_refused_naming_the_place_of_the_fault() {
        assert!(err("").contains("empty"));
        assert!(err("{").contains("not JSON"));
        assert!(err(r#"{"type":"Point","coordinates":[1,2]}"#).contains("Point is not a zone"));
        assert!(
            err(r#"{"type":"Polygon","coordinates":[[[101,38],[101.1,38],[101,38]]]}"#)
                .contains("ring 0 has 3 positions")
        );
        assert!(err(
            r#"{"type":"Polygon","coordinates":[[[101,38],[101.1,38],[101.1,38.1],[101,38.2]]]}"#
        )
        .contains("not closed"));
        let far = err(
            r#"{"type":"Polygon","coordinates":[[[500000,4290000],[500100,4290000],[500100,4290100],[500000,4290000]]]}"#,
        );
        assert!(
            far.contains("position 0: longitude 500000 is outside"),
            "{far}"
        );
        let lat = err(
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[101,38],[101.1,95],[101.1,38.1],[101,38]]]}}]}"#,
        );
        assert!(
            lat.contains("feature 0's geometry, ring 0, position 1: latitude 95"),
            "{lat}"
        );
        assert!(
            err(r#"{"type":"Polygon","coordinates":[[[1,2],["a",2],[1,3],[1,2]]]}"#)
                .contains("position 1: not a [longitude, latitude] pair")
        );
        assert!(err(
            r#"{"type":"Polygon","crs":{"type":"name","properties":{"name":"EPSG:4543"}},"coordinates":[[[101,38],[101.1,38],[101.1,38.1],[101,38]]]}"#
        )
        .contains("EPSG:4543"));
        assert!(err(r#"{"type":"Feature","geometry":null}"#).contains("has no geometry"));
        assert!(err(r#"{"type":"FeatureCollection","features":[]}"#).contains("no polygon"));
        let big: Vec<[f64; 2]> = (0..MAX_VERTICES)
            .map(|i| [100.0 + i as f64 * 1e-5, 38.0 + (i % 2) as f64 * 1e-3])
            .chain([[100.0, 38.0]])
            .collect();
        let mut ring = vec![[100.0, 38.0]];
        ring.extend(big);
        let body = serde_json::json!({ "type": "Polygon", "coordinates": [ring] }).to_string();
        assert!(err(&body).contains("more than 20000 vertices"));
        let huge = format!("{}{}", " ".repeat(MAX_BODY_BYTES), "{}");
        assert!(err(&huge).contains("more than the 1048576 allowed"));
    }
}
