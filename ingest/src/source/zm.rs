//! Which ordinates beyond X and Y (Z, M) a geometry type code declares, for the note that
//! says they were dropped. The GeoPackage reader reads the code from a geometry blob's WKB, the
//! File Geodatabase reader gets it from GDAL as an `OGRwkbGeometryType`: the two code systems
//! share ISO WKB's thousands (1000 Z, 2000 M, 3000 ZM) and the 2.5D bit 0x8000_0000, but only
//! WKB (as PostGIS's EWKB) has an M bit, 0x4000_0000.

/// The code system a geometry type code belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeCodes {
    /// The type of a WKB geometry: ISO WKB (1003 = Polygon Z), or EWKB's flags (0x8000_0000
    /// Z, 0x4000_0000 M, 0x2000_0000 SRID present).
    Wkb,
    /// GDAL's `OGRwkbGeometryType`: ISO codes, or the legacy 2.5D types (`wkbPolygon25D` =
    /// 0x8000_0003); 0x4000_0000 means nothing there.
    #[cfg_attr(not(feature = "gdal"), allow(dead_code))]
    Ogr,
}

/// `Some("Z")`, `Some("M")` or `Some("ZM")` when the type `code` (of the system `codes`)
/// carries those ordinates, `None` for plain X and Y.
pub(crate) fn zm_of(code: u32, codes: TypeCodes) -> Option<&'static str> {
    let m_bit = match codes {
        TypeCodes::Wkb => code & 0x4000_0000 != 0,
        TypeCodes::Ogr => false,
    };
    // The ISO thousands, with the flag bits cleared first (0x8000_0003 is a 2.5D polygon, not
    // type 3651).
    let iso = (code & 0x0fff_ffff) % 10_000 / 1000;
    let z = code & 0x8000_0000 != 0 || matches!(iso, 1 | 3);
    let m = m_bit || matches!(iso, 2 | 3);
    match (z, m) {
        (true, true) => Some("ZM"),
        (true, false) => Some("Z"),
        (false, true) => Some("M"),
        (false, false) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_codes_mean_the_same_in_both_systems() {
        for codes in [TypeCodes::Wkb, TypeCodes::Ogr] {
            assert_eq!(zm_of(3, codes), None);
            assert_eq!(zm_of(6, codes), None);
            assert_eq!(zm_of(1003, codes), Some("Z"));
            assert_eq!(zm_of(2003, codes), Some("M"));
            assert_eq!(zm_of(3006, codes), Some("ZM"));
            // The 2.5D bit (EWKB's Z flag, OGR's wkb25DBit).
            assert_eq!(zm_of(0x8000_0003, codes), Some("Z"));
        }
    }

    #[test]
    fn only_wkb_has_an_m_flag() {
        assert_eq!(zm_of(0x4000_0003, TypeCodes::Wkb), Some("M"));
        assert_eq!(zm_of(0xc000_0003, TypeCodes::Wkb), Some("ZM"));
        // EWKB's SRID flag says nothing of the ordinates.
        assert_eq!(zm_of(0x2000_0003, TypeCodes::Wkb), None);
        assert_eq!(zm_of(0x4000_0003, TypeCodes::Ogr), None);
    }
}
