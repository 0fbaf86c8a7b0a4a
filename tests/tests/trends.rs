//! Change-trend analytics against a real PostGIS, on fixtures whose every area is known by hand
//! (tests/fixtures/trends/README.md): squares and triangles of whole hectares in Gauss-Krüger
//! zone 34, three survey years in which parcels split and merge, zones crossing parcel borders,
//! a zone where nothing changes, and the transition matrix's sum identities.

mod helpers;

use std::collections::BTreeMap;
use std::path::Path;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use helpers::{fixture, TestDb};
use http_body_util::BodyExt;
use onemap_ingest::{ingest, IngestRequest};
use onemap_schemas::authz::Principal;
use onemap_schemas::catalog::Catalog;
use onemap_tile_server::{app, AppState, ServerConfig};
use onemap_trends::{Level, TransitionMatrix, TrendQuery};
use serde_json::Value;
use tower::ServiceExt;

const HA: f64 = 10_000.0;

/// Loads the three survey years, the reserve zones and the forest farm; precomputes the
/// land-use layer as the demo does.
async fn load(db: &TestDb) -> tokio_postgres::Client {
    let mut client = db.client().await;
    let files: [(&str, &str, Option<i32>); 5] = [
        ("zones", "trends/zones.geojson", None),
        ("forest_farm", "trends/forest_farm.geojson", None),
        ("landuse", "trends/landuse_2020.geojson", Some(2020)),
        ("landuse", "trends/landuse_2021.geojson", Some(2021)),
        ("landuse", "trends/landuse_2022.geojson", Some(2022)),
    ];
    for (layer, file, year) in files {
        ingest(
            &mut client,
            &IngestRequest {
                path: fixture(file),
                layer: layer.into(),
                department: "zrzy".into(),
                year,
                srid: Some(4543),
                class_field: year.map(|_| "DLBM".to_owned()),
                ingested_by: "test".into(),
                ..IngestRequest::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("ingest of {file} failed: {e}"));
    }
    let report = onemap_trends::precompute(&mut client, "landuse", None)
        .await
        .unwrap();
    assert_eq!(report.years.len(), 3);
    // Two zoning layers plus the whole extent, for areas in every year and overlays after 2020.
    assert!(report.years.iter().all(|y| y.area_zones_computed == 3));
    assert_eq!(report.years[0].from_year, None);
    assert_eq!(report.years[2].from_year, Some(2021));
    assert_eq!(report.years[2].transition_zones_computed, 3);
    client
}

fn assert_ha(actual: f64, expected_ha: f64, what: &str) {
    let expected = expected_ha * HA;
    assert!(
        (actual - expected).abs() <= 1e-6 * expected.max(HA),
        "{what}: {actual} m² is not {expected} m²"
    );
}

/// `class → m²` of one year of an area series.
fn year_areas(series: &onemap_trends::AreaSeries, year: i32) -> BTreeMap<String, f64> {
    series
        .series
        .iter()
        .filter(|p| p.year == year)
        .map(|p| (p.class.clone(), p.area_m2))
        .collect()
}

fn assert_areas(actual: &BTreeMap<String, f64>, expected_ha: &[(&str, f64)], what: &str) {
    let classes: Vec<&str> = actual.keys().map(String::as_str).collect();
    let expected_classes: Vec<&str> = {
        let mut c: Vec<&str> = expected_ha.iter().map(|(c, _)| *c).collect();
        c.sort_unstable();
        c
    };
    assert_eq!(classes, expected_classes, "{what}: classes");
    for (class, ha) in expected_ha {
        assert_ha(actual[*class], *ha, &format!("{what}, class {class}"));
    }
}

fn cells(m: &TransitionMatrix) -> BTreeMap<(String, String), f64> {
    m.cells
        .iter()
        .map(|c| ((c.from_class.clone(), c.to_class.clone()), c.area_m2))
        .collect()
}

fn assert_cells(m: &TransitionMatrix, expected_ha: &[(&str, &str, f64)], what: &str) {
    let actual = cells(m);
    let mut expected_keys: Vec<(String, String)> = expected_ha
        .iter()
        .map(|(f, t, _)| (f.to_string(), t.to_string()))
        .collect();
    expected_keys.sort();
    assert_eq!(
        actual.keys().cloned().collect::<Vec<_>>(),
        expected_keys,
        "{what}: cells"
    );
    for (f, t, ha) in expected_ha {
        assert_ha(
            actual[&(f.to_string(), t.to_string())],
            *ha,
            &format!("{what}, {f} → {t}"),
        );
    }
}

fn query<'a>(
    catalog: &'a Catalog,
    zone_layer: Option<&str>,
    zone: Option<&'a str>,
    from: Option<i32>,
    to: Option<i32>,
) -> TrendQuery<'a> {
    let who = Principal::Anonymous;
    TrendQuery {
        layer: catalog.layer(&who, "landuse").unwrap(),
        zone_layer: zone_layer.map(|z| catalog.layer(&who, z).unwrap()),
        zone,
        from,
        to,
        level: Level::Two,
    }
}

#[tokio::test]
async fn area_series_give_the_hand_computed_hectares_for_the_county_and_for_a_zone_crossing_parcels(
) {
    let db = TestDb::new().await;
    let mut client = load(&db).await;
    let catalog = Catalog::load(&client).await.unwrap();

    let whole = onemap_trends::area_series(&mut client, &query(&catalog, None, None, None, None))
        .await
        .unwrap();
    assert_eq!(whole.unit, "m2");
    assert_areas(
        &year_areas(&whole, 2020),
        &[("0301", 12.0), ("0103", 6.0), ("0401", 6.0)],
        "county 2020",
    );
    assert_areas(
        &year_areas(&whole, 2021),
        &[("0301", 8.0), ("0602", 4.0), ("0103", 12.0)],
        "county 2021",
    );
    assert_areas(
        &year_areas(&whole, 2022),
        &[("0301", 10.0), ("0602", 2.0), ("0103", 12.0)],
        "county 2022",
    );

    // The core zone cuts the cropland and grassland parcels at x = 4: clipped, not counted whole.
    let core = query(
        &catalog,
        Some("zones"),
        Some("核心区"),
        Some(2020),
        Some(2021),
    );
    let series = onemap_trends::area_series(&mut client, &core)
        .await
        .unwrap();
    assert!(series.series.iter().all(|p| p.year <= 2021));
    assert_areas(
        &year_areas(&series, 2020),
        &[("0301", 12.0), ("0103", 2.0), ("0401", 2.0)],
        "core 2020",
    );
    assert_areas(
        &year_areas(&series, 2021),
        &[("0301", 8.0), ("0602", 4.0), ("0103", 4.0)],
        "core 2021",
    );

    // The same zone by its fid, and the experimental zone; level 1 groups by first-level class.
    let by_fid = query(&catalog, Some("zones"), Some("2"), Some(2022), Some(2022));
    let experimental = onemap_trends::area_series(&mut client, &by_fid)
        .await
        .unwrap();
    assert_areas(
        &year_areas(&experimental, 2022),
        &[("0103", 8.0)],
        "experimental 2022",
    );
    let level1 = TrendQuery {
        level: Level::One,
        ..query(&catalog, None, None, Some(2021), Some(2021))
    };
    let first_level = onemap_trends::area_series(&mut client, &level1)
        .await
        .unwrap();
    assert_areas(
        &year_areas(&first_level, 2021),
        &[("03", 8.0), ("06", 4.0), ("01", 12.0)],
        "county 2021 level 1",
    );

    // A whole zoning layer without a zone key is the union of its zones: the 24 ha block.
    let all_zones = query(&catalog, Some("zones"), None, Some(2020), Some(2020));
    let all = onemap_trends::area_series(&mut client, &all_zones)
        .await
        .unwrap();
    assert_areas(
        &year_areas(&all, 2020),
        &[("0301", 12.0), ("0103", 6.0), ("0401", 6.0)],
        "all zones 2020",
    );
}

#[tokio::test]
async fn transitions_follow_parcels_that_split_and_merge_and_a_quiet_zone_shows_only_persistence() {
    let db = TestDb::new().await;
    let mut client = load(&db).await;
    let catalog = Catalog::load(&client).await.unwrap();

    // 2020 → 2021: the forest parcel split (a mine carved out of it), the cropland and the
    // grassland merged into one cropland parcel. Ids changed; only geometry tells.
    let m = onemap_trends::transitions(
        &mut client,
        &query(&catalog, None, None, Some(2020), Some(2021)),
    )
    .await
    .unwrap();
    assert_cells(
        &m,
        &[
            ("0301", "0301", 8.0),
            ("0301", "0602", 4.0),
            ("0103", "0103", 6.0),
            ("0401", "0103", 6.0),
        ],
        "county 2020→2021",
    );
    let summary: BTreeMap<&str, &onemap_trends::ClassSummary> =
        m.classes.iter().map(|c| (c.class.as_str(), c)).collect();
    assert_ha(summary["0301"].persistence_m2, 8.0, "forest persistence");
    assert_ha(summary["0301"].loss_m2, 4.0, "forest loss");
    assert_ha(summary["0301"].net_m2, -4.0, "forest net");
    assert_ha(summary["0602"].gain_m2, 4.0, "mining gain");
    assert_ha(summary["0103"].gain_m2, 6.0, "cropland gain");
    assert_ha(summary["0401"].loss_m2, 6.0, "grassland loss");
    assert!(m.classes.iter().all(|c| c.swap_m2 == 0.0));

    // The change parcels: the 4 ha mine and the 6 ha of grassland ploughed up, nothing else.
    let rows = client
        .query(
            "SELECT from_class, to_class, area_m2 FROM onemap.change_parcels c
             JOIN onemap.layer_versions v ON v.id = c.to_version WHERE v.year = 2021
             ORDER BY from_class",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].get::<_, String>(0), "0301");
    assert_eq!(rows[0].get::<_, String>(1), "0602");
    assert_ha(rows[0].get(2), 4.0, "mine change parcel");
    assert_eq!(rows[1].get::<_, String>(0), "0401");
    assert_ha(rows[1].get(2), 6.0, "ploughed grassland change parcel");

    // Inside the core zone, clipped at x = 4.
    let core = onemap_trends::transitions(
        &mut client,
        &query(
            &catalog,
            Some("zones"),
            Some("核心区"),
            Some(2020),
            Some(2021),
        ),
    )
    .await
    .unwrap();
    assert_cells(
        &core,
        &[
            ("0301", "0301", 8.0),
            ("0301", "0602", 4.0),
            ("0103", "0103", 2.0),
            ("0401", "0103", 2.0),
        ],
        "core 2020→2021",
    );

    // 2020 → 2022 is not consecutive: the two surveys are overlaid directly (on demand), and
    // the diagonal split of 2022 shows up as 2 ha restored and 2 ha still mined.
    let skip = onemap_trends::transitions(
        &mut client,
        &query(&catalog, None, None, Some(2020), Some(2022)),
    )
    .await
    .unwrap();
    assert_eq!((skip.from, skip.to), (2020, 2022));
    assert_cells(
        &skip,
        &[
            ("0301", "0301", 10.0),
            ("0301", "0602", 2.0),
            ("0103", "0103", 6.0),
            ("0401", "0103", 6.0),
        ],
        "county 2020→2022",
    );

    // The forest farm (named by its MC attribute) never changed: persistence only.
    for (from, to) in [(2020, 2021), (2021, 2022), (2020, 2022)] {
        let farm = onemap_trends::transitions(
            &mut client,
            &query(
                &catalog,
                Some("forest_farm"),
                Some("林场"),
                Some(from),
                Some(to),
            ),
        )
        .await
        .unwrap();
        assert_cells(&farm, &[("0301", "0301", 8.0)], "forest farm");
        let forest = &farm.classes[0];
        assert_eq!(forest.class, "0301");
        assert_eq!(
            (forest.gain_m2, forest.loss_m2, forest.net_m2),
            (0.0, 0.0, 0.0)
        );
    }
}

#[tokio::test]
async fn row_sums_equal_the_first_year_and_column_sums_the_second_within_a_hundredth_of_a_percent()
{
    let db = TestDb::new().await;
    let mut client = load(&db).await;
    let catalog = Catalog::load(&client).await.unwrap();
    let zones: [(Option<&str>, Option<&str>); 5] = [
        (None, None),
        (Some("zones"), Some("核心区")),
        (Some("zones"), Some("实验区")),
        (Some("zones"), None),
        (Some("forest_farm"), Some("林场")),
    ];
    for (zone_layer, zone) in zones {
        for (from, to) in [(2020, 2021), (2021, 2022), (2020, 2022)] {
            let q = query(&catalog, zone_layer, zone, Some(from), Some(to));
            let m = onemap_trends::transitions(&mut client, &q).await.unwrap();
            let series = onemap_trends::area_series(&mut client, &q).await.unwrap();
            let (first, second) = (year_areas(&series, from), year_areas(&series, to));
            let what = format!("{zone_layer:?}/{zone:?} {from}→{to}");
            let mut rows: BTreeMap<String, f64> = BTreeMap::new();
            let mut columns: BTreeMap<String, f64> = BTreeMap::new();
            for c in &m.cells {
                *rows.entry(c.from_class.clone()).or_default() += c.area_m2;
                *columns.entry(c.to_class.clone()).or_default() += c.area_m2;
            }
            for (sums, areas, side) in [(&rows, &first, "row"), (&columns, &second, "column")] {
                assert_eq!(
                    sums.keys().collect::<Vec<_>>(),
                    areas.keys().collect::<Vec<_>>(),
                    "{what}: {side} classes"
                );
                for (class, area) in areas {
                    assert!(
                        (sums[class] - area).abs() <= 1e-4 * area,
                        "{what}: {side} sum of {class} is {} m², the area is {area} m²",
                        sums[class]
                    );
                }
            }
            // The class summaries carry the same sums.
            for c in &m.classes {
                assert!((c.from_m2 - first.get(&c.class).copied().unwrap_or(0.0)).abs() <= 1.0);
                assert!((c.to_m2 - second.get(&c.class).copied().unwrap_or(0.0)).abs() <= 1.0);
            }
        }
    }
}

#[tokio::test]
async fn precomputing_twice_computes_nothing_new_and_records_each_run() {
    let db = TestDb::new().await;
    let mut client = load(&db).await;
    let again = onemap_trends::precompute(&mut client, "landuse", Some(2022))
        .await
        .unwrap();
    assert_eq!(again.years.len(), 1);
    assert_eq!(again.years[0].area_zones_computed, 0);
    assert_eq!(again.years[0].transition_zones_computed, 0);
    let runs: i64 = client
        .query_one(
            "SELECT count(*) FROM onemap.trend_runs WHERE duration_ms >= 0",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // 3 years × 3 area runs + 2 overlays × 3 transition runs.
    assert_eq!(runs, 15);
    let not_land_use = onemap_trends::precompute(&mut client, "zones", None).await;
    assert!(matches!(
        not_land_use,
        Err(onemap_trends::TrendsError::NotLandUse(_))
    ));
}

async fn server(db: &TestDb) -> Router {
    let config = ServerConfig {
        database_url: db.url.clone(),
        viewer_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../viewer"),
        pool_size: 4,
        tile_cache_mb: 16,
    };
    app(AppState::new(&config).await.unwrap())
}

async fn get(app: &Router, uri: &str) -> (StatusCode, String, Vec<u8>) {
    let response = app
        .clone()
        .oneshot(
            Request::get(uri)
                .header("host", "onemap.test")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, content_type, body)
}

#[tokio::test]
async fn the_api_answers_json_and_csv_and_hides_layers_the_caller_cannot_see() {
    let db = TestDb::new().await;
    let client = load(&db).await;
    let app = server(&db).await;

    // 核心区, percent-encoded.
    let core = "zone_layer=zones&zone=%E6%A0%B8%E5%BF%83%E5%8C%BA";
    let (status, _, body) = get(
        &app,
        &format!("/api/trends/area?layer=landuse&{core}&from=2020&to=2020&level=1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["unit"], "m2");
    let series = v["series"].as_array().unwrap();
    assert_eq!(series.len(), 3);
    for p in series {
        assert_eq!(p["year"], 2020);
        let expected = match p["class"].as_str().unwrap() {
            "03" => 12.0,
            "01" | "04" => 2.0,
            other => panic!("unexpected class {other}"),
        };
        assert_ha(p["area_m2"].as_f64().unwrap(), expected, "API core 2020");
    }

    let (status, content_type, body) = get(
        &app,
        "/api/trends/area?layer=landuse&from=2021&to=2021&format=csv",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let text = String::from_utf8(body).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "year,class,area_m2");
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[1].starts_with("2021,0103,"), "{text}");
    // A CSV is a file handed out: the audit trail has it, with the layer and the row count.
    let audited = client
        .query_one(
            "SELECT target, details FROM onemap.audit WHERE action = 'export.trends_area.csv'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(audited.get::<_, String>(0), "landuse");
    let details: serde_json::Value = audited.get(1);
    assert_eq!(details["rows"], 3, "{details}");
    assert_eq!(details["adhoc_zone"], false, "{details}");

    let (status, _, body) = get(
        &app,
        &format!("/api/trends/transitions?layer=landuse&{core}&from=2020&to=2021"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["cells"].as_array().unwrap().len(), 4);
    let forest = v["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["class"] == "0301")
        .unwrap();
    for key in ["persistence_m2", "gain_m2", "loss_m2", "net_m2", "swap_m2"] {
        assert!(forest[key].is_number(), "{key}");
    }
    assert_ha(forest["loss_m2"].as_f64().unwrap(), 4.0, "API forest loss");

    // The change parcels, largest first, clipped to a zone when one is named.
    let (status, _, body) = get(&app, "/api/changes?layer=landuse&from=2020&to=2021").await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    let features = v["features"].as_array().unwrap();
    assert_eq!(features.len(), 2);
    let props: Vec<&Value> = features.iter().map(|f| &f["properties"]).collect();
    assert_eq!(
        (
            props[0]["from_class"].as_str(),
            props[0]["to_class"].as_str()
        ),
        (Some("0401"), Some("0103"))
    );
    assert_ha(
        props[0]["area_m2"].as_f64().unwrap(),
        6.0,
        "ploughed grassland",
    );
    assert_eq!(props[1]["to_class"], "0602");
    assert_ha(props[1]["area_m2"].as_f64().unwrap(), 4.0, "mine");
    assert_eq!(features[0]["geometry"]["type"], "Polygon");
    let (status, content_type, body) = get(
        &app,
        "/api/changes?layer=landuse&from=2020&to=2021&zone_layer=zones&zone=2&format=csv",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/csv"));
    let text = String::from_utf8(body).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(
        lines[0],
        "from_year,to_year,from_class,to_class,area_m2,from_fid,to_fid,wkt,zone,zone_kind,\
         village_code,village,station,station_code"
    );
    let fields: Vec<&str> = lines[1].splitn(8, ',').collect();
    assert_eq!(&fields[..4], &["2020", "2021", "0401", "0103"]);
    assert_ha(
        fields[4].parse().unwrap(),
        4.0,
        "ploughed grassland in the experimental zone",
    );
    assert!(fields[7].starts_with("\"POLYGON(("), "{}", fields[7]);

    // Mistakes: 400; things that do not exist: 404.
    for (uri, expected) in [
        ("/api/trends/area", StatusCode::BAD_REQUEST),
        (
            "/api/trends/area?layer=landuse&level=3",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/trends/area?layer=zones", StatusCode::BAD_REQUEST),
        (
            "/api/trends/area?layer=landuse&zone_layer=landuse",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/trends/transitions?layer=landuse&from=2022&to=2020",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/trends/area?layer=nothing", StatusCode::NOT_FOUND),
        (
            "/api/changes?layer=landuse&format=shp",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/trends/area?layer=landuse&zone_layer=zones&zone=nowhere",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/trends/transitions?layer=landuse&from=2019&to=2021",
            StatusCode::NOT_FOUND,
        ),
    ] {
        assert_eq!(get(&app, uri).await.0, expected, "{uri}");
    }

    // A zone layer, then a land-use layer, the public may not see: as if they did not exist.
    client
        .execute(
            "UPDATE onemap.layers SET access_level = 'restricted' WHERE id = 'zones'",
            &[],
        )
        .await
        .unwrap();
    let app = server(&db).await;
    let (status, _, body) = get(&app, &format!("/api/trends/area?layer=landuse&{core}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(String::from_utf8_lossy(&body).contains("zones"));
    assert_eq!(
        get(&app, "/api/trends/area?layer=landuse").await.0,
        StatusCode::OK
    );
    client
        .execute(
            "UPDATE onemap.layers SET access_level = 'restricted' WHERE id = 'landuse'",
            &[],
        )
        .await
        .unwrap();
    let app = server(&db).await;
    for uri in [
        "/api/trends/transitions?layer=landuse",
        "/api/trends/area?layer=landuse",
        "/api/changes?layer=landuse",
    ] {
        assert_eq!(get(&app, uri).await.0, StatusCode::NOT_FOUND, "{uri}");
    }
}

#[tokio::test]
async fn a_survey_year_published_through_the_job_queue_is_precomputed_in_the_job_with_its_time_reported(
) {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    // Zones and the years around the missing one, published without any precompute.
    let files: [(&str, &str, Option<i32>); 4] = [
        ("zones", "trends/zones.geojson", None),
        ("forest_farm", "trends/forest_farm.geojson", None),
        ("landuse", "trends/landuse_2020.geojson", Some(2020)),
        ("landuse", "trends/landuse_2022.geojson", Some(2022)),
    ];
    for (layer, file, year) in files {
        ingest(
            &mut client,
            &IngestRequest {
                path: fixture(file),
                layer: layer.into(),
                department: "zrzy".into(),
                year,
                srid: Some(4543),
                class_field: year.map(|_| "DLBM".to_owned()),
                ingested_by: "test".into(),
                ..IngestRequest::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("ingest of {file} failed: {e}"));
    }
    let runs: i64 = client
        .query_one("SELECT count(*) FROM onemap.trend_runs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(runs, 0, "nothing is precomputed before the job");

    // 2021 arrives through the ingest job queue, as an upload would.
    let pool = onemap_jobs::pool(&db.url, 3).unwrap();
    let path = fixture("trends/landuse_2021.geojson");
    let acting = onemap_access::Acting::operator("test");
    let id = onemap_jobs::enqueue(
        &client,
        &acting,
        &onemap_jobs::JobRequest {
            layer: "landuse".into(),
            department: "zrzy".into(),
            year: Some(2021),
            srid: Some(4543),
            ..onemap_jobs::JobRequest::default()
        },
        &onemap_jobs::JobFile {
            path: path.clone(),
            original_name: Some("landuse_2021.geojson".into()),
            upload: false,
        },
    )
    .await
    .unwrap();
    let outcome = onemap_jobs::try_execute_job(&pool).await.unwrap();
    assert_eq!(
        outcome,
        onemap_jobs::ExecutionOutcome::TaskCompleted {
            id,
            succeeded: true,
            error: None
        }
    );
    let job = onemap_jobs::get(&client, &Principal::Operator("t".into()), id)
        .await
        .unwrap()
        .unwrap();
    let report = job.report.expect("a succeeded job has a report");
    let version_2021 = report["version_id"].as_i64().unwrap();
    let ids: Vec<i64> = client
        .query(
            "SELECT v.id FROM onemap.layer_versions v JOIN onemap.layers l ON l.key = v.layer_key \
             WHERE l.id = 'landuse' ORDER BY v.year",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids.len(), 3);
    let (v2020, v2022) = (ids[0], ids[2]);
    assert_eq!(ids[1], version_2021);

    // The job reported the precompute: the new year, and the later year overlaid with it.
    let p = &report["trend_precompute"];
    assert_eq!(p["year"], 2021, "{report:#}");
    assert!(p["duration_ms"].as_f64().unwrap() > 0.0, "{p:#}");
    assert!(p.get("error").is_none(), "{p:#}");
    let years: Vec<(i64, Option<i64>)> = p["years"]
        .as_array()
        .unwrap()
        .iter()
        .map(|y| (y["year"].as_i64().unwrap(), y["from_year"].as_i64()))
        .collect();
    assert_eq!(years, [(2021, Some(2020)), (2022, Some(2021))]);

    // And trend_runs holds it, each for the whole extent and both zoning layers: areas of 2021
    // (and of 2022, never computed before), the overlays 2020→2021 and 2021→2022; not the
    // areas of 2020, which no new year needed.
    let rows = client
        .query(
            "SELECT kind, version_id, from_version, count(*) FROM onemap.trend_runs \
             GROUP BY 1, 2, 3",
            &[],
        )
        .await
        .unwrap();
    let mut runs: Vec<(String, i64, Option<i64>, i64)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    runs.sort();
    let mut expected = vec![
        ("area".to_owned(), version_2021, None, 3),
        ("area".to_owned(), v2022, None, 3),
        ("transitions".to_owned(), version_2021, Some(v2020), 3),
        ("transitions".to_owned(), v2022, Some(version_2021), 3),
    ];
    expected.sort();
    assert_eq!(runs, expected);
    let changes: i64 = client
        .query_one(
            "SELECT count(*) FROM onemap.change_parcels WHERE to_version = $1",
            &[&version_2021],
        )
        .await
        .unwrap()
        .get(0);
    assert!(changes > 0, "the 2020→2021 change parcels were written");

    // A layer without a class field is published through the queue without any precompute.
    let id = onemap_jobs::enqueue(
        &client,
        &acting,
        &onemap_jobs::JobRequest {
            layer: "villages".into(),
            department: "zrzy".into(),
            year: Some(2021),
            srid: Some(4543),
            ..onemap_jobs::JobRequest::default()
        },
        &onemap_jobs::JobFile {
            path: fixture("trends/villages.geojson"),
            original_name: None,
            upload: false,
        },
    )
    .await
    .unwrap();
    onemap_jobs::try_execute_job(&pool).await.unwrap();
    let job = onemap_jobs::get(&client, &Principal::Operator("t".into()), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.state, "succeeded", "{:?}", job.error);
    assert!(job.report.unwrap().get("trend_precompute").is_none());
}
