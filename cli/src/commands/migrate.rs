//! `onemap migrate`.

pub async fn run(ctx: &super::Context) -> anyhow::Result<()> {
    super::with_database(ctx, async |_db| {
        println!("database is up to date");
        Ok(())
    })
    .await
}
