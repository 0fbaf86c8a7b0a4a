//! The DLTB field table: the canonical attribute names of a land-use parcel (地类图斑) and the
//! spellings that stand for them in deliveries of different survey generations and tools.
//!
//! | canonical | meaning | also accepted (any case) |
//! |---|---|---|
//! | `BSM` | feature id 标识码 | `BSM_1`, `标识码` |
//! | `TBBH` | parcel number 图斑编号 | `TBBH_1`, `图斑编号` |
//! | `DLBM` | land-class code 地类编码 | `DLBM_1`, `地类编码` |
//! | `DLMC` | land-class name 地类名称 | `DLMC_1`, `地类名称` |
//! | `QSDWDM` | owner unit code 权属单位代码 | `QSDWDM_1`, `权属单位代码` |
//! | `ZLDWDM` | location unit code 坐落单位代码 | `ZLDWDM_1`, `坐落单位代码` |
//! | `TBMJ` | parcel area m² 图斑面积 | `TBMJ_1`, `图斑面积` |
//! | `KCMJ` | deducted area m² 扣除地类面积 | `KCMJ_1`, `TKMJ` (the second survey's 田坎面积), `扣除地类面积` |
//! | `TBDLMJ` | parcel land area m² 图斑地类面积 | `TBDLMJ_1`, `图斑地类面积` |
//!
//! The canonical name in another case (`dlbm`) is preferred to a variant; when the exact
//! canonical name is present nothing is renamed (see [`crate::FieldAlias`]). Attributes not in
//! the table keep their names.

use crate::FieldAlias;

/// The canonical DLTB fields and their variants, as listed in the module documentation.
const TABLE: &[(&str, &[&str])] = &[
    ("BSM", &["BSM_1", "标识码"]),
    ("TBBH", &["TBBH_1", "图斑编号"]),
    ("DLBM", &["DLBM_1", "地类编码"]),
    ("DLMC", &["DLMC_1", "地类名称"]),
    ("QSDWDM", &["QSDWDM_1", "权属单位代码"]),
    ("ZLDWDM", &["ZLDWDM_1", "坐落单位代码"]),
    ("TBMJ", &["TBMJ_1", "图斑面积"]),
    ("KCMJ", &["KCMJ_1", "TKMJ", "扣除地类面积"]),
    ("TBDLMJ", &["TBDLMJ_1", "图斑地类面积"]),
];

/// The canonical names, in table order.
pub fn canonical_names() -> Vec<&'static str> {
    TABLE.iter().map(|(c, _)| *c).collect()
}

/// The table as ingest field aliases.
pub fn aliases() -> Vec<FieldAlias> {
    TABLE
        .iter()
        .map(|(canonical, variants)| FieldAlias {
            canonical: (*canonical).to_owned(),
            variants: variants.iter().map(|v| (*v).to_owned()).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(canonical: &str, names: &[&str]) -> Option<String> {
        let alias = aliases()
            .into_iter()
            .find(|a| a.canonical == canonical)
            .unwrap();
        alias.pick(names.iter().copied())
    }

    #[test]
    fn variants_are_found_in_order_of_preference() {
        assert_eq!(pick("DLBM", &["bsm", "dlbm"]), Some("dlbm".into()));
        assert_eq!(pick("DLBM", &["DLBM_1", "dlbm"]), Some("dlbm".into()));
        assert_eq!(pick("DLBM", &["dlbm_1"]), Some("dlbm_1".into()));
        assert_eq!(pick("KCMJ", &["TKMJ"]), Some("TKMJ".into()));
        assert_eq!(pick("TBMJ", &["图斑面积"]), Some("图斑面积".into()));
        assert_eq!(pick("TBDLMJ", &["TBMJ"]), None);
    }
}
