//! Identifies a CRS given as WKT (a shapefile's `.prj`, OGC or ESRI flavour) to its EPSG code:
//! the root's own `AUTHORITY`/`ID` when it has one; otherwise its datum, ellipsoid, projection,
//! parameters and unit compared with every EPSG definition in PostGIS's `spatial_ref_sys`.
//! ESRI names of CGCS2000 Gauss-Krüger zones (`CGCS2000_3_Degree_GK_Zone_34`,
//! `CGCS2000_3_Degree_GK_CM_102E`) break ties between definitions with equal parameters
//! (3° CM 105E and 6° CM 105E, say). A WKT that matches nothing is refused, never guessed.

pub(crate) mod wkt;

use tokio_postgres::Client;

use crate::source::Crs;

/// The EPSG code an ESRI CGCS2000 3-degree Gauss-Krüger name stands for: `..._Zone_N` (zone
/// number in the easting) is EPSG:4488+N for zones 25–45 (4513–4533), `..._CM_NNNE` is
/// EPSG:4534 + (NNN − 75)/3 for central meridians 75°E–135°E (4534–4554).
pub fn cgcs2000_gk_name(name: &str) -> Option<i32> {
    let c = wkt::compact(name);
    let rest = c.strip_prefix("cgcs20003degreegk")?;
    if let Some(zone) = rest.strip_prefix("zone") {
        let zone: i32 = zone.parse().ok()?;
        return (25..=45).contains(&zone).then_some(4488 + zone);
    }
    let cm: i32 = rest.strip_prefix("cm")?.strip_suffix('e')?.parse().ok()?;
    ((75..=135).contains(&cm) && cm % 3 == 0).then_some(4534 + (cm - 75) / 3)
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
    let chosen = hint
        .and_then(|h| matches.iter().find(|(s, _)| *s == h))
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
