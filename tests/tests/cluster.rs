//! The private cluster: created on first use, reused by a second process, data kept across a
//! stop and a start, stopped only by the process that started it.

use onemap_schemas::cluster::PrivateCluster;
use onemap_schemas::database::connect;

fn scratch_dir() -> std::path::PathBuf {
    // Under /tmp and open to others: a root-run cluster runs as the postgres user.
    let dir = std::env::temp_dir().join(format!("onemap-cluster-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    dir
}

#[tokio::test]
async fn the_private_cluster_keeps_its_data_across_a_restart() {
    let dir = scratch_dir();
    let data = dir.join("pg");
    let d = data.clone();
    let first = tokio::task::spawn_blocking(move || PrivateCluster::ensure_running(&d))
        .await
        .unwrap()
        .expect("a private cluster starts");
    assert!(first.started_here());
    let client = connect(&first.connection_string_for("postgres"))
        .await
        .unwrap();
    client
        .batch_execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('祁连山')")
        .await
        .unwrap();
    // PostGIS is there to be created.
    client
        .batch_execute("CREATE EXTENSION postgis")
        .await
        .unwrap();
    drop(client);

    // A second user of the same folder joins the running cluster and does not own it.
    let d = data.clone();
    let second = tokio::task::spawn_blocking(move || PrivateCluster::ensure_running(&d))
        .await
        .unwrap()
        .unwrap();
    assert!(!second.started_here());
    assert_eq!(second.port(), first.port());
    second.stop_if_started_here().unwrap();
    assert!(first.is_running());

    // Only loopback, and only with the password.
    let wrong = first
        .connection_string_for("postgres")
        .replace("password=", "password=x");
    assert!(connect(&wrong).await.is_err());

    first.stop().unwrap();
    assert!(!first.is_running());
    let d = data.clone();
    let again = tokio::task::spawn_blocking(move || PrivateCluster::ensure_running(&d))
        .await
        .unwrap()
        .unwrap();
    assert!(again.started_here());
    let client = connect(&again.connection_string_for("postgres"))
        .await
        .unwrap();
    let v: String = client
        .query_one("SELECT v FROM kept", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, "祁连山");
    drop(client);
    again.stop().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
