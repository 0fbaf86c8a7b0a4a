//! Reference tables shipped with Onemap, parsed from the CSV files in `schemas/data/`.

use serde::{Deserialize, Serialize};

use crate::{SchemaError, SchemaResult};

/// A department that owns layers and tasks.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Department {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub kind: String,
}

/// One of the eight themes the one map is organised by.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Theme {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub sort_order: i32,
}

/// A GB/T 21010 land class or a working class of the land survey.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LandClass {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub level: i16,
    pub parent: Option<String>,
    pub color: String,
    pub working: bool,
}

const DEPARTMENTS: &str = include_str!("../data/departments.csv");
const THEMES: &str = include_str!("../data/themes.csv");
const LAND_CLASSES: &str = include_str!("../data/land_classes.csv");

fn parse<T: for<'de> Deserialize<'de>>(file: &'static str, text: &str) -> SchemaResult<Vec<T>> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect::<Result<_, _>>()
        .map_err(|e| SchemaError::Reference {
            file,
            detail: e.to_string(),
        })
}

/// The departments from `data/departments.csv`.
pub fn departments() -> SchemaResult<Vec<Department>> {
    parse("departments.csv", DEPARTMENTS)
}

/// The themes from `data/themes.csv`.
pub fn themes() -> SchemaResult<Vec<Theme>> {
    parse("themes.csv", THEMES)
}

/// The land classes from `data/land_classes.csv`, parents before children.
pub fn land_classes() -> SchemaResult<Vec<LandClass>> {
    #[derive(Deserialize)]
    struct Row {
        code: String,
        name_zh: String,
        name_en: String,
        level: i16,
        parent: String,
        color: String,
        working: bool,
    }
    let rows: Vec<Row> = parse("land_classes.csv", LAND_CLASSES)?;
    Ok(rows
        .into_iter()
        .map(|r| LandClass {
            code: r.code,
            name_zh: r.name_zh,
            name_en: r.name_en,
            level: r.level,
            parent: (!r.parent.is_empty()).then_some(r.parent),
            color: r.color,
            working: r.working,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn land_classes_cover_the_standard_and_the_working_classes() {
        let classes = land_classes().unwrap();
        let level1 = classes
            .iter()
            .filter(|c| c.level == 1 && !c.working)
            .count();
        let level2 = classes
            .iter()
            .filter(|c| c.level == 2 && !c.working)
            .count();
        assert_eq!((level1, level2), (12, 73));
        for code in [
            "00", "05H1", "08H1", "08H2", "201", "202", "203", "204", "205",
        ] {
            assert!(
                classes.iter().any(|c| c.code == code && c.working),
                "{code}"
            );
        }
        // Parents come before their children, so they can be inserted in order.
        for (i, c) in classes.iter().enumerate() {
            if let Some(p) = &c.parent {
                assert!(
                    classes[..i].iter().any(|q| &q.code == p),
                    "{} before {p}",
                    c.code
                );
            }
        }
    }

    #[test]
    fn departments_include_the_three_reserve_stations() {
        let deps = departments().unwrap();
        assert_eq!(deps.len(), 29);
        assert_eq!(
            deps.iter().filter(|d| d.kind == "reserve_station").count(),
            3
        );
    }
}
