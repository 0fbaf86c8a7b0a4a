//! `onemap sessions prune`: deletes the viewer's expired cookie sessions (idle or past their
//! lifetime, ended, or of a disabled user), as the server does periodically. Audited as
//! `session.prune` when it deleted any.

use clap::{Args, Subcommand};
use onemap_access::sessions::{self, SessionLimits};
use onemap_access::{audit, Acting};

#[derive(Args)]
pub struct SessionsArgs {
    #[command(subcommand)]
    action: SessionsAction,
}

#[derive(Subcommand)]
enum SessionsAction {
    /// Delete expired sessions now (the server does it every 10 minutes) and print how many.
    Prune,
}

pub async fn run(ctx: &super::Context, args: SessionsArgs) -> anyhow::Result<()> {
    let acting = Acting::operator(super::ingest::who_am_i());
    super::with_database(ctx, async |db| {
        let mut client = db.connect().await?;
        match args.action {
            SessionsAction::Prune => {
                let deleted = sessions::prune(
                    &client,
                    SessionLimits::default(),
                    onemap_tile_server::PRUNE_GRACE,
                )
                .await?;
                if deleted > 0 {
                    audit::record(
                        &mut client,
                        &acting,
                        "session.prune",
                        None,
                        &serde_json::json!({ "deleted": deleted }),
                    )
                    .await?;
                }
                println!("deleted {deleted} expired sessions");
            }
        }
        Ok(())
    })
    .await
}
