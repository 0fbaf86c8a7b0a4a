//! The trend reads' short path: a series or matrix whose figures were all precomputed is read
//! with one check of `onemap.trend_runs`; one with any figure missing computes what is missing
//! first, on the spot, and answers the same. On the hand-checked fixtures of
//! tests/fixtures/trends/README.md (whole hectares in Gauss-Krüger zone 34).

mod helpers;

use std::collections::BTreeMap;

use helpers::survey_fixtures::ingest_trend_files;
use helpers::TestDb;
use onemap_schemas::authz::Principal;
use onemap_schemas::catalog::Catalog;
use onemap_trends::{Level, TrendQuery};

const HA: f64 = 10_000.0;

/// Loads the zones and three survey years without the precompute.
async fn load_without_precompute(db: &TestDb) -> tokio_postgres::Client {
    let mut client = db.client().await;
    ingest_trend_files(
        &mut client,
        &[
            ("zones", "zrzy", "trends/zones.geojson", None),
            ("landuse", "zrzy", "trends/landuse_2020.geojson", Some(2020)),
            ("landuse", "zrzy", "trends/landuse_2021.geojson", Some(2021)),
            ("landuse", "zrzy", "trends/landuse_2022.geojson", Some(2022)),
        ],
    )
    .await;
    client
}

fn core<'a>(catalog: &'a Catalog, from: i32, to: i32) -> TrendQuery<'a> {
    let who = Principal::Anonymous;
    TrendQuery {
        layer: catalog.layer(&who, "landuse").unwrap(),
        zone_layer: Some(catalog.layer(&who, "zones").unwrap()),
        zone: Some("核心区"),
        from: Some(from),
        to: Some(to),
        level: Level::Two,
    }
}

/// `(kind, year, from year) → runs` recorded in `onemap.trend_runs`.
async fn runs(client: &tokio_postgres::Client) -> BTreeMap<(String, i32, Option<i32>), i64> {
    client
        .query(
            "SELECT r.kind, v.year, f.year, count(*) FROM onemap.trend_runs r \
             JOIN onemap.layer_versions v ON v.id = r.version_id \
             LEFT JOIN onemap.layer_versions f ON f.id = r.from_version GROUP BY 1, 2, 3",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| ((r.get(0), r.get(1), r.get(2)), r.get(3)))
        .collect()
}

fn assert_ha(actual: f64, expected_ha: f64, what: &str) {
    let expected = expected_ha * HA;
    assert!(
        (actual - expected).abs() <= 1e-6 * expected.max(HA),
        "{what}: {actual} m² is not {expected} m²"
    );
}

#[tokio::test]
async fn a_series_with_some_years_not_precomputed_computes_only_those_and_answers_as_if_all_were() {
    let db = TestDb::new().await;
    let mut client = load_without_precompute(&db).await;
    let catalog = Catalog::load(&client).await.unwrap();
    // Only 2022 is precomputed (its areas for every zoning layer and the whole extent, and the
    // overlay 2021→2022): 2020 and 2021 are missing.
    onemap_trends::precompute(&mut client, "landuse", Some(2022))
        .await
        .unwrap();
    let before = runs(&client).await;
    assert_eq!(before.get(&("area".into(), 2020, None)), None);
    assert_eq!(before.get(&("area".into(), 2022, None)), Some(&2));

    let first = onemap_trends::area_series(&mut client, &core(&catalog, 2020, 2022))
        .await
        .unwrap();
    // The missing years were computed for the core's zoning layer and the whole extent.
    let after = runs(&client).await;
    assert_eq!(after.get(&("area".into(), 2020, None)), Some(&2));
    assert_eq!(after.get(&("area".into(), 2021, None)), Some(&2));
    assert_eq!(after.get(&("area".into(), 2022, None)), Some(&2));
    let by_year_class: BTreeMap<(i32, String), f64> = first
        .series
        .iter()
        .map(|p| ((p.year, p.class.clone()), p.area_m2))
        .collect();
    // The core zone cuts the cropland and grassland parcels at x = 4.
    for (year, class, ha) in [
        (2020, "0301", 12.0),
        (2020, "0103", 2.0),
        (2020, "0401", 2.0),
        (2021, "0301", 8.0),
        (2021, "0602", 4.0),
        (2021, "0103", 4.0),
    ] {
        assert_ha(
            by_year_class[&(year, class.to_owned())],
            ha,
            &format!("core {year} {class}"),
        );
    }
    assert!(first.series.iter().any(|p| p.year == 2022));

    // Asked again, everything is precomputed: the same answer, and nothing new recorded.
    let again = onemap_trends::area_series(&mut client, &core(&catalog, 2020, 2022))
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(runs(&client).await, after);
}

#[tokio::test]
async fn a_matrix_not_precomputed_is_computed_once_and_read_the_same_the_second_time() {
    let db = TestDb::new().await;
    let mut client = load_without_precompute(&db).await;
    let catalog = Catalog::load(&client).await.unwrap();
    assert!(runs(&client).await.is_empty(), "nothing precomputed yet");

    let first = onemap_trends::transitions(&mut client, &core(&catalog, 2020, 2021))
        .await
        .unwrap();
    let cells: BTreeMap<(String, String), f64> = first
        .cells
        .iter()
        .map(|c| ((c.from_class.clone(), c.to_class.clone()), c.area_m2))
        .collect();
    assert_eq!(cells.len(), 4, "{cells:?}");
    for (f, t, ha) in [
        ("0301", "0301", 8.0),
        ("0301", "0602", 4.0),
        ("0103", "0103", 2.0),
        ("0401", "0103", 2.0),
    ] {
        assert_ha(
            cells[&(f.to_owned(), t.to_owned())],
            ha,
            &format!("core 2020→2021, {f} → {t}"),
        );
    }
    // The overlay 2020→2021 for the core's zoning layer and the whole extent.
    let after = runs(&client).await;
    assert_eq!(
        after.get(&("transitions".into(), 2021, Some(2020))),
        Some(&2)
    );

    let again = onemap_trends::transitions(&mut client, &core(&catalog, 2020, 2021))
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(runs(&client).await, after);
}
