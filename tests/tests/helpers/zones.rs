//! Transverse Mercator zones loaded with the partition's trigger made to fail, to prove that the
//! client derives `geom_3857` and `area_m2` for them exactly as PostGIS would (the Gauss-Krüger
//! zones in tests/tests/ingest_formats3.rs, UTM and the 6-degree zones in
//! tests/tests/ingest_derived.rs).

use onemap_ingest::{ingest, IngestRequest};
use tokio_postgres::Client;

/// Makes the partition's trigger (`onemap.features_derive`) fail in this database: every row
/// must then arrive with its derivatives from the client.
pub async fn forbid_server_derivation(client: &Client) {
    client
        .batch_execute(
            "CREATE OR REPLACE FUNCTION onemap.features_derive() RETURNS trigger
             LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the server was asked'; END $$",
        )
        .await
        .unwrap();
}

/// One zone to load: its SRID, the geographic CRS its parcels are drawn in (4490 for
/// CGCS2000, 4326 for WGS 84), its central meridian, the longitudes (offsets from the central
/// meridian) and latitudes of the parcels' corners.
pub struct Zone<'a> {
    pub srid: i32,
    pub geographic: i32,
    pub cm: f64,
    pub offsets: &'a [f64],
    pub lats: &'a [f64],
}

/// Parcels (squares and a long thin quadrilateral, 50 m to 4 km) at every offset and latitude
/// of `zone`, as WKT in the zone's grid (PostGIS projects them), one CSV row each; returns the
/// number of rows.
async fn zone_parcels_csv(client: &Client, zone: &Zone<'_>, path: &std::path::Path) -> usize {
    let offsets: Vec<f64> = zone.offsets.to_vec();
    let lats: Vec<f64> = zone.lats.to_vec();
    let rows = client
        .query(
            "WITH p AS (
                 SELECT row_number() OVER () AS id, lon, lat, d
                   FROM unnest($3::float8[]) AS dl(dl),
                        unnest($4::float8[]) AS lat(lat),
                        unnest(ARRAY[0.0005, 0.01, 0.04]) AS d(d),
                        LATERAL (SELECT $2::float8 + dl AS lon) l)
             SELECT id, ST_AsText(ST_Transform(ST_SetSRID(
                        CASE WHEN id % 4 = 0 THEN
                            ST_MakePolygon(ST_MakeLine(ARRAY[ST_MakePoint(lon, lat),
                                ST_MakePoint(lon + d * 3, lat + d / 5),
                                ST_MakePoint(lon + d * 3, lat + d / 2),
                                ST_MakePoint(lon, lat)]))
                        ELSE ST_MakeEnvelope(lon, lat, lon + d, lat + d) END, $5::int), $1::int), 17)
               FROM p ORDER BY id",
            &[&zone.srid, &zone.cm, &offsets, &lats, &zone.geographic],
        )
        .await
        .unwrap();
    let mut csv = String::from("id,wkt\n");
    for r in &rows {
        csv.push_str(&format!(
            "{},\"{}\"\n",
            r.get::<_, i64>(0),
            r.get::<_, String>(1)
        ));
    }
    std::fs::write(path, csv).unwrap();
    rows.len()
}

/// Loads each zone's parcels (with `--srid` the zone's) and asserts that the stored
/// derivatives are PostGIS's own: none missing, the same shapes, areas within a relative
/// 1e-9 and Web-Mercator copies within 1e-8 m. Returns the worst relative area difference
/// and the worst Web-Mercator distance (m) seen.
pub async fn assert_zones_derived_as_postgis(
    client: &mut Client,
    zones: &[Zone<'_>],
) -> (f64, f64) {
    let dir = super::temp_dir("zones");
    let (mut worst_area, mut worst_mercator) = (0.0f64, 0.0f64);
    for zone in zones {
        let srid = zone.srid;
        let path = dir.join(format!("zone_{srid}.csv"));
        let rows = zone_parcels_csv(client, zone, &path).await;
        let req = IngestRequest {
            path,
            layer: format!("zone_{srid}"),
            department: "zrzy".into(),
            ingested_by: "tests".into(),
            srid: Some(srid),
            ..IngestRequest::default()
        };
        let report = ingest(client, &req).await.unwrap();
        assert_eq!(report.features_written as usize, rows, "EPSG:{srid}");
        let row = client
            .query_one(
                include_str!("../sql/derived_agreement.sql"),
                &[&report.version_id],
            )
            .await
            .unwrap();
        let missing: i64 = row.get("missing");
        let shape_differs: i64 = row.get("shape_differs");
        let area_rel: f64 = row.get("area_rel");
        let mercator_m: f64 = row.get("mercator_m");
        assert_eq!((missing, shape_differs), (0, 0), "EPSG:{srid}");
        assert!(
            area_rel <= 1e-9,
            "EPSG:{srid}: areas differ by {area_rel:e}"
        );
        assert!(
            mercator_m <= 1e-8,
            "EPSG:{srid}: Web-Mercator copies differ by {mercator_m} m"
        );
        worst_area = worst_area.max(area_rel);
        worst_mercator = worst_mercator.max(mercator_m);
    }
    std::fs::remove_dir_all(&dir).ok();
    (worst_area, worst_mercator)
}
