//! `onemap worker`: runs ingest jobs from the queue (`onemap.ingest_jobs`) until Ctrl-C or
//! SIGTERM. Several workers, on one machine or several sharing the database, take jobs side by
//! side; an uploaded file must be reachable at the path the server stored it under.

use anyhow::Context as _;
use clap::Args;

#[derive(Args)]
pub struct WorkerArgs {
    /// Run the jobs waiting now, then exit (instead of waiting for more).
    #[arg(long)]
    pub drain: bool,
}

pub async fn run(ctx: &super::Context, args: WorkerArgs) -> anyhow::Result<()> {
    super::with_database(ctx, async |db| {
        // Jobs publish as onemap_writer (`onemap_jobs::WORKER_ROLE`).
        let pool = onemap_jobs::worker_pool(db.url())
            .await
            .context("connecting the worker")?;
        if args.drain {
            loop {
                match onemap_jobs::try_execute_job(&pool).await? {
                    onemap_jobs::ExecutionOutcome::EmptyQueue => return Ok(()),
                    onemap_jobs::ExecutionOutcome::TaskCompleted {
                        id,
                        succeeded,
                        error,
                    } => match error {
                        None if succeeded => println!("job {id}: succeeded"),
                        e => println!("job {id}: failed: {}", e.unwrap_or_default()),
                    },
                }
            }
        }
        eprintln!("onemap worker: waiting for ingest jobs (Ctrl-C to stop)");
        onemap_jobs::run_worker(pool, super::shutdown_signal()).await;
        Ok(())
    })
    .await
}
