//! Applies the versioned SQL migrations in `schemas/migrations/` (refinery) and loads the
//! reference tables, which are upserted so that a newer Onemap brings newer reference data.

use tokio_postgres::Client;

use crate::{reference, SchemaError, SchemaResult};

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Advisory-lock key serialising migrations ("onem" in ASCII).
const MIGRATION_LOCK: i64 = 0x6f6e_656d;

/// Brings the database to the newest schema and reference data. Safe to run at every start.
pub async fn migrate(client: &mut Client) -> SchemaResult<()> {
    // Two processes starting at once would both try to create refinery's history table.
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(SchemaError::pg("taking the migration lock"))?;
    let result = run(client).await;
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(SchemaError::pg("releasing the migration lock"))?;
    result
}

async fn run(client: &mut Client) -> SchemaResult<()> {
    // refinery's history table is unqualified: pin it to public, or a role named like our
    // schema ("onemap") would find it in `$user` once the first migration creates that schema.
    client
        .batch_execute("SET search_path TO public")
        .await
        .map_err(SchemaError::pg("setting the search path"))?;
    embedded::migrations::runner().run_async(client).await?;
    seed_reference_data(client).await
}

async fn seed_reference_data(client: &mut Client) -> SchemaResult<()> {
    let tx = client
        .transaction()
        .await
        .map_err(SchemaError::pg("starting the reference-data transaction"))?;
    let dep = tx
        .prepare(include_str!("sql/upsert_department.sql"))
        .await
        .map_err(SchemaError::pg("preparing the department upsert"))?;
    for d in reference::departments()? {
        tx.execute(&dep, &[&d.code, &d.name_zh, &d.name_en, &d.kind])
            .await
            .map_err(SchemaError::pg(format!("loading department {}", d.code)))?;
    }
    let theme = tx
        .prepare(include_str!("sql/upsert_theme.sql"))
        .await
        .map_err(SchemaError::pg("preparing the theme upsert"))?;
    for t in reference::themes()? {
        tx.execute(&theme, &[&t.code, &t.name_zh, &t.name_en, &t.sort_order])
            .await
            .map_err(SchemaError::pg(format!("loading theme {}", t.code)))?;
    }
    let class = tx
        .prepare(include_str!("sql/upsert_land_class.sql"))
        .await
        .map_err(SchemaError::pg("preparing the land-class upsert"))?;
    for c in reference::land_classes()? {
        tx.execute(
            &class,
            &[
                &c.code, &c.name_zh, &c.name_en, &c.level, &c.parent, &c.color, &c.working,
            ],
        )
        .await
        .map_err(SchemaError::pg(format!("loading land class {}", c.code)))?;
    }
    tx.commit()
        .await
        .map_err(SchemaError::pg("committing the reference data"))
}
