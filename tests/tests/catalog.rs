//! The catalog schema and reference data, against a real PostGIS.

mod helpers;

use helpers::TestDb;
use onemap_schemas::authz::Principal;
use onemap_schemas::catalog;

#[tokio::test]
async fn a_migrated_database_holds_the_reference_tables() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let deps = catalog::departments(&client).await.unwrap();
    assert_eq!(deps.len(), 29);
    assert!(deps
        .iter()
        .any(|d| d.code == "lsz" && d.name_zh.contains("龙首山")));
    let themes = catalog::themes(&client).await.unwrap();
    let codes: Vec<_> = themes.iter().map(|t| t.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "land_use",
            "protected_areas",
            "forest_grassland",
            "water",
            "wildlife",
            "human_activity",
            "monitoring",
            "enforcement"
        ]
    );
    let classes = catalog::land_classes(&client).await.unwrap();
    let grass = classes.iter().find(|c| c.code == "0401").unwrap();
    assert_eq!(grass.name_zh, "天然牧草地");
    assert_eq!(grass.parent.as_deref(), Some("04"));
    for code in ["00", "05H1", "08H1", "08H2", "201", "205"] {
        assert!(classes.iter().any(|c| c.code == code), "{code} missing");
    }
    assert!(classes.iter().all(|c| c.color.len() == 7));
}

#[tokio::test]
async fn migrating_twice_changes_nothing() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    onemap_schemas::migrate::migrate(&mut client).await.unwrap();
    let n: i64 = client
        .query_one("SELECT count(*) FROM onemap.land_classes", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 95);
    assert!(catalog::layers(&client, &Principal::Anonymous)
        .await
        .unwrap()
        .is_empty());
}
