//! Identifies a CRS given as WKT (a shapefile's `.prj`: OGC WKT1, ESRI WKT, or WKT2 as QGIS 3
//! writes it) to its EPSG code: the root's own `AUTHORITY`/`ID` when it has one; otherwise its
//! datum, ellipsoid, projection, parameters and unit compared with every EPSG definition in
//! PostGIS's `spatial_ref_sys`. Names of CGCS2000 Gauss-Krüger zones, ESRI's
//! (`CGCS2000_3_Degree_GK_Zone_34`, `CGCS2000_3_Degree_GK_CM_102E`) or EPSG's (`CGCS2000 /
//! 3-degree Gauss-Kruger zone 34`), then a definition of exactly the same name, break ties
//! between definitions with equal parameters (3° CM 105E and 6° CM 105E, say). A WKT that
//! matches nothing is refused, never guessed.

pub(crate) mod wkt;

use tokio_postgres::Client;

use crate::source::Crs;

/// The EPSG code a CGCS2000 3-degree Gauss-Krüger name stands for, in ESRI's spelling
/// (`CGCS2000_3_Degree_GK_Zone_34`) or EPSG's (`CGCS2000 / 3-degree Gauss-Kruger zone 34`):
/// zone N (zone number in the easting) is EPSG:4488+N for zones 25–45 (4513–4533), CM NNNE is
/// EPSG:4534 + (NNN − 75)/3 for central meridians 75°E–135°E (4534–4554).
pub fn cgcs2000_gk_name(name: &str) -> Option<i32> {
    let c = wkt::compact(name);
    let rest = c
        .strip_prefix("cgcs20003degreegk")
        .or_else(|| c.strip_prefix("cgcs20003degreegausskruger"))?;
    if let Some(zone) = rest.strip_prefix("zone") {
        let zone: i32 = zone.parse().ok()?;
        return (25..=45).contains(&zone).then_some(4488 + zone);
    }
    let cm: i32 = rest.strip_prefix("cm")?.strip_suffix('e')?.parse().ok()?;
    ((75..=135).contains(&cm) && cm % 3 == 0).then_some(4534 + (cm - 75) / 3)
}

/// The EPSG code of a CRS given as WKT (OGC WKT1, ESRI WKT or WKT2, with or without an
/// EPSG code in it) and how it was found; `Err` says why none could be. Reads PostGIS's
/// `spatial_ref_sys` through `client`.
pub async fn identify_wkt(client: &Client, wkt: &str) -> Result<(i32, String), String> {
    identify(client, wkt, "WKT")
        .await
        .map(|crs| (crs.srid, crs.source))
}

/// The EPSG code of `text`, with how it was found; `Err` says why none could be.
pub async fn identify(client: &Client, text: &str, what: &str) -> Result<Crs, String> {
    let root = wkt::parse(text).map_err(|e| format!("the {what} is not WKT we can read ({e})"))?;
    if let Some(srid) = wkt::root_epsg(&root) {
        return Ok(Crs {
            srid,
            source: format!("{what} AUTHORITY EPSG:{srid}"),
        });
    }
    let facts = wkt::facts(&root).ok_or_else(|| {
        format!(
            "the {what} defines a {} rather than a geographic or projected CRS",
            root.keyword
        )
    })?;
    let pattern = if facts.projected {
        "PROJCS[%"
    } else {
        "GEOGCS[%"
    };
    let rows = client
        .query(include_str!("../sql/srs_candidates.sql"), &[&pattern])
        .await
        .map_err(|e| format!("reading spatial_ref_sys failed: {e}"))?;
    let mut matches: Vec<(i32, String)> = Vec::new();
    for row in &rows {
        let srtext: String = row.get(1);
        let Some(theirs) = wkt::parse(&srtext).ok().and_then(|n| wkt::facts(&n)) else {
            continue;
        };
        if wkt::same(&facts, &theirs) {
            matches.push((row.get(0), theirs.name));
        }
    }
    let hint = cgcs2000_gk_name(&facts.name);
    let own_name = wkt::compact(&facts.name);
    let chosen = hint
        .and_then(|h| matches.iter().find(|(s, _)| *s == h))
        .or_else(|| matches.iter().find(|(_, n)| wkt::compact(n) == own_name))
        .or_else(|| matches.first());
    match chosen {
        Some((srid, name)) => {
            let others: Vec<String> = matches
                .iter()
                .filter(|(s, _)| s != srid)
                .map(|(s, _)| format!("EPSG:{s}"))
                .collect();
            Ok(Crs {
                srid: *srid,
                source: format!(
                    "{what} {:?} matches EPSG:{srid} ({name}) by its parameters{}",
                    facts.name,
                    if others.is_empty() {
                        String::new()
                    } else {
                        format!(" (equal parameters: {})", others.join(", "))
                    }
                ),
            })
        }
        None => Err(format!(
            "the {what} {:?} (datum {}, {}) matches no EPSG coordinate reference system known to PostGIS",
            facts.name,
            facts.datum,
            if facts.projected {
                facts.method.as_str()
            } else {
                "geographic"
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esri_cgcs2000_zone_names_give_their_epsg_codes() {
        assert_eq!(cgcs2000_gk_name("CGCS2000_3_Degree_GK_Zone_34"), Some(4522));
        assert_eq!(cgcs2000_gk_name("CGCS2000_3_Degree_GK_Zone_25"), Some(4513));
        assert_eq!(cgcs2000_gk_name("CGCS2000_3_Degree_GK_Zone_45"), Some(4533));
        assert_eq!(cgcs2000_gk_name("CGCS2000_3_Degree_GK_CM_102E"), Some(4543));
        assert_eq!(cgcs2000_gk_name("CGCS2000_3_Degree_GK_CM_75E"), Some(4534));
        assert_eq!(cgcs2000_gk_name("CGCS2000_3_Degree_GK_CM_135E"), Some(4554));
        assert_eq!(cgcs2000_gk_name("CGCS2000_3_Degree_GK_CM_100E"), None);
        assert_eq!(cgcs2000_gk_name("CGCS2000_3_Degree_GK_Zone_46"), None);
        assert_eq!(
            cgcs2000_gk_name("CGCS2000 / 3-degree Gauss-Kruger zone 34"),
            Some(4522)
        );
        assert_eq!(
            cgcs2000_gk_name("CGCS2000 / 3-degree Gauss-Kruger CM 102E"),
            Some(4543)
        );
        assert_eq!(cgcs2000_gk_name("CGCS2000 / Gauss-Kruger CM 105E"), None);
    }

    #[test]
    fn wkt2_and_wkt1_of_the_same_crs_have_the_same_facts() {
        let wkt2 = r#"PROJCRS["CGCS2000 / 3-degree Gauss-Kruger zone 34",BASEGEOGCRS["China Geodetic Coordinate System 2000",DATUM["China 2000",ELLIPSOID["CGCS2000",6378137,298.257222101,LENGTHUNIT["metre",1]]],PRIMEM["Greenwich",0,ANGLEUNIT["degree",0.0174532925199433]]],CONVERSION["3-degree Gauss-Kruger zone 34",METHOD["Transverse Mercator",ID["EPSG",9807]],PARAMETER["Latitude of natural origin",0,ANGLEUNIT["degree",0.0174532925199433],ID["EPSG",8801]],PARAMETER["Longitude of natural origin",102,ANGLEUNIT["degree",0.0174532925199433],ID["EPSG",8802]],PARAMETER["Scale factor at natural origin",1,SCALEUNIT["unity",1],ID["EPSG",8805]],PARAMETER["False easting",34500000,LENGTHUNIT["metre",1],ID["EPSG",8806]],PARAMETER["False northing",0,LENGTHUNIT["metre",1],ID["EPSG",8807]]],CS[Cartesian,2],AXIS["northing (X)",north,ORDER[1],LENGTHUNIT["metre",1]],AXIS["easting (Y)",east,ORDER[2],LENGTHUNIT["metre",1]],USAGE[SCOPE["Cadastre."],AREA["China - between 100°30'E and 103°30'E."],BBOX[21.13,100.5,42.69,103.5]]]"#;
        let esri = r#"PROJCS["CGCS2000_3_Degree_GK_Zone_34",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",34500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",102.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
        let root = wkt::parse(wkt2).unwrap();
        assert_eq!(wkt::root_epsg(&root), None);
        let a = wkt::facts(&root).unwrap();
        let b = wkt::facts(&wkt::parse(esri).unwrap()).unwrap();
        assert!(a.projected);
        assert_eq!(a.method, "transversemercator");
        assert!(wkt::same(&a, &b), "{a:?} != {b:?}");
    }

    #[test]
    fn a_wkt2_geocentric_crs_has_no_facts_to_compare() {
        let geocentric = r#"GEODCRS["China Geodetic Coordinate System 2000",DATUM["China 2000",ELLIPSOID["CGCS2000",6378137,298.257222101,LENGTHUNIT["metre",1]]],PRIMEM["Greenwich",0,ANGLEUNIT["degree",0.0174532925199433]],CS[Cartesian,3],AXIS["(X)",geocentricX,ORDER[1],LENGTHUNIT["metre",1]],AXIS["(Y)",geocentricY,ORDER[2],LENGTHUNIT["metre",1]],AXIS["(Z)",geocentricZ,ORDER[3],LENGTHUNIT["metre",1]]]"#;
        assert_eq!(wkt::facts(&wkt::parse(geocentric).unwrap()), None);
    }

    #[test]
    fn the_root_authority_is_found_and_nested_ones_are_not_taken_for_it() {
        let with = r#"GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433],AUTHORITY["EPSG","4326"]]"#;
        assert_eq!(wkt::root_epsg(&wkt::parse(with).unwrap()), Some(4326));
        let without = r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
        let root = wkt::parse(without).unwrap();
        assert_eq!(wkt::root_epsg(&root), None);
        let esri = wkt::facts(&root).unwrap();
        let epsg = wkt::facts(&wkt::parse(with).unwrap()).unwrap();
        assert!(wkt::same(&esri, &epsg));
    }
}
