//! Half-year and annual summaries of the ledger (半年报/年报): the clues detected in a period
//! (`2026H1` = January–June, `2026H2` = July–December, `2026` = the year) that the caller may
//! see, counted and their geodesic areas summed by reserve zone, suspected activity, status
//! and lead department. A clue touching several zones counts once in each of their kinds (so
//! the zone rows may add up to more than the total); a clue in no zone counts as `outside`; a
//! clue without a lead department as `unassigned`. Statuses are as they are now, not as they
//! were at the end of the period.

use std::collections::BTreeMap;

use onemap_access::Principal;
use serde::Serialize;
use tokio_postgres::GenericClient;

use crate::clues::{Clue, ClueFilter};
use crate::workflow::Status;
use crate::{LedgerError, LedgerResult};

/// A reporting period: detection dates from `from` up to, not including, `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    /// `2026H1`, `2026H2` or `2026`.
    pub name: String,
    pub from: String,
    pub until: String,
}

impl Period {
    /// Parses `YYYY`, `YYYYH1` or `YYYYH2` (also `YYYY-H1`, lower case).
    pub fn parse(text: &str) -> LedgerResult<Period> {
        let t = text.trim().to_uppercase().replace('-', "");
        let bad = || {
            LedgerError::Invalid(format!(
                "period {text:?} is not a year (2026) or a half year (2026H1, 2026H2)"
            ))
        };
        let (year, half) = match t.split_once('H') {
            Some((y, h)) => (y, Some(h)),
            None => (t.as_str(), None),
        };
        let year: i32 = year
            .parse()
            .ok()
            .filter(|y| (1900..=2200).contains(y) && year.len() == 4)
            .ok_or_else(bad)?;
        let (name, from, until) = match half {
            None => (
                format!("{year}"),
                format!("{year}-01-01"),
                format!("{}-01-01", year + 1),
            ),
            Some("1") => (
                format!("{year}H1"),
                format!("{year}-01-01"),
                format!("{year}-07-01"),
            ),
            Some("2") => (
                format!("{year}H2"),
                format!("{year}-07-01"),
                format!("{}-01-01", year + 1),
            ),
            Some(_) => return Err(bad()),
        };
        Ok(Period { name, from, until })
    }

    fn holds(&self, date: &str) -> bool {
        self.from.as_str() <= date && date < self.until.as_str()
    }
}

/// Clues of one group: how many and their summed geodesic area.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub key: String,
    pub count: usize,
    pub area_m2: f64,
}

/// A summary of the ledger over a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub period: Period,
    pub count: usize,
    pub area_m2: f64,
    /// Rectifying past the deadline now.
    pub overdue: usize,
    pub by_zone: Vec<Group>,
    pub by_activity: Vec<Group>,
    pub by_status: Vec<Group>,
    pub by_department: Vec<Group>,
}

const ACTIVITIES: [&str; 8] = [
    "mining",
    "construction",
    "road",
    "hydropower",
    "tourism_facility",
    "grazing",
    "reclamation",
    "other",
];

fn groups<'a>(
    clues: &[&'a Clue],
    keys: impl Fn(&'a Clue) -> Vec<String>,
    order: &[&str],
) -> Vec<Group> {
    let mut by: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    for c in clues {
        let mut ks = keys(c);
        ks.sort();
        ks.dedup();
        for k in ks {
            let g = by.entry(k).or_default();
            g.0 += 1;
            g.1 += c.area_m2;
        }
    }
    let rank = |k: &str| order.iter().position(|o| *o == k).unwrap_or(order.len());
    let mut out: Vec<Group> = by
        .into_iter()
        .map(|(key, (count, area))| Group {
            key,
            count,
            area_m2: (area * 10.0).round() / 10.0,
        })
        .collect();
    out.sort_by(|a, b| rank(&a.key).cmp(&rank(&b.key)).then(a.key.cmp(&b.key)));
    out
}

/// Summarises `clues` (already the caller's) over `period`.
pub fn summarise(clues: &[Clue], period: &Period) -> Summary {
    let mine: Vec<&Clue> = clues
        .iter()
        .filter(|c| period.holds(&c.detected_on))
        .collect();
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    let zone_kinds = |c: &Clue| -> Vec<String> {
        let zones: Vec<String> = c
            .zones
            .as_array()
            .map(|z| {
                z.iter()
                    .filter_map(|z| z["kind"].as_str().or(z["name"].as_str()))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if zones.is_empty() {
            vec!["outside".to_owned()]
        } else {
            zones
        }
    };
    let area: f64 = mine.iter().map(|c| c.area_m2).sum();
    Summary {
        period: period.clone(),
        count: mine.len(),
        area_m2: (area * 10.0).round() / 10.0,
        overdue: mine.iter().filter(|c| c.overdue).count(),
        by_zone: groups(
            &mine,
            zone_kinds,
            &["core", "buffer", "experimental", "outside"],
        ),
        by_activity: groups(&mine, |c| vec![c.activity.clone()], &ACTIVITIES),
        by_status: groups(&mine, |c| vec![c.status.clone()], &statuses),
        by_department: groups(
            &mine,
            |c| {
                vec![c
                    .lead_department
                    .clone()
                    .unwrap_or_else(|| "unassigned".into())]
            },
            &[],
        ),
    }
}

/// The summary over `period` of the clues `who` may see.
pub async fn summary(
    client: &impl GenericClient,
    who: &Principal,
    period: &Period,
) -> LedgerResult<Summary> {
    let clues = crate::clues::list(client, who, &ClueFilter::default()).await?;
    Ok(summarise(&clues, period))
}

impl Summary {
    /// The summary as rows `dimension, key, count, area_m2` (the first: the total).
    pub fn rows(&self) -> Vec<(&'static str, String, usize, f64)> {
        let mut rows = vec![("total", self.period.name.clone(), self.count, self.area_m2)];
        for (dimension, groups) in [
            ("zone", &self.by_zone),
            ("activity", &self.by_activity),
            ("status", &self.by_status),
            ("department", &self.by_department),
        ] {
            rows.extend(
                groups
                    .iter()
                    .map(|g| (dimension, g.key.clone(), g.count, g.area_m2)),
            );
        }
        rows
    }

    /// As CSV (UTF-8 with a BOM).
    pub fn to_csv(&self) -> LedgerResult<Vec<u8>> {
        let mut out = b"\xEF\xBB\xBF".to_vec();
        {
            let mut w = csv::Writer::from_writer(&mut out);
            let err = |e: csv::Error| LedgerError::Invalid(format!("writing CSV: {e}"));
            w.write_record(["dimension", "key", "count", "area_m2"])
                .map_err(err)?;
            for (d, k, n, a) in self.rows() {
                w.write_record([d.to_owned(), k, n.to_string(), format!("{a:.1}")])
                    .map_err(err)?;
            }
            w.flush()
                .map_err(|e| LedgerError::Invalid(format!("writing CSV: {e}")))?;
        }
        Ok(out)
    }

    /// As an XLSX workbook of one sheet named after the period.
    pub fn to_xlsx(&self) -> LedgerResult<Vec<u8>> {
        use crate::xlsx::{Cell, Sheet};
        let mut rows = vec![vec![
            Cell::from("dimension"),
            "key".into(),
            "count".into(),
            "area_m2".into(),
        ]];
        for (d, k, n, a) in self.rows() {
            rows.push(vec![d.into(), k.into(), (n as f64).into(), a.into()]);
        }
        crate::xlsx::write(&[Sheet {
            name: self.period.name.clone(),
            rows,
        }])
        .map_err(|e| LedgerError::Invalid(format!("writing XLSX: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_half_years_or_years_and_anything_else_is_refused() {
        let h1 = Period::parse("2026H1").unwrap();
        assert_eq!(
            (h1.from.as_str(), h1.until.as_str()),
            ("2026-01-01", "2026-07-01")
        );
        let h2 = Period::parse("2026-h2").unwrap();
        assert_eq!(
            (h2.name.as_str(), h2.until.as_str()),
            ("2026H2", "2027-01-01")
        );
        let y = Period::parse("2026").unwrap();
        assert_eq!(
            (y.from.as_str(), y.until.as_str()),
            ("2026-01-01", "2027-01-01")
        );
        assert!(y.holds("2026-12-31") && !y.holds("2027-01-01") && h1.holds("2026-06-30"));
        for bad in ["2026H3", "26", "H1", "2026Q1", "", "2026H"] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }
}
