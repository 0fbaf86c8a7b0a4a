//! `onemap audit verify|list`: checks the audit trail's hash chain (exit status 1 when it is
//! broken), or prints its newest entries.

use clap::{Args, Subcommand};
use onemap_access::audit;

#[derive(Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    action: AuditAction,
}

#[derive(Subcommand)]
enum AuditAction {
    /// Recompute every entry's hash; exit non-zero if any entry was altered, removed or
    /// reordered.
    Verify,
    /// Print the newest entries.
    List {
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// As CSV instead of one line per entry.
        #[arg(long)]
        csv: bool,
    },
}

pub async fn run(ctx: &super::Context, args: AuditArgs) -> anyhow::Result<()> {
    super::with_database(ctx, async |db| {
        let client = db.connect().await?;
        match &args.action {
            AuditAction::Verify => {
                let report = audit::verify(&client).await?;
                match &report.broken {
                    None => {
                        println!(
                            "audit trail intact: {} entries, head {}",
                            report.entries,
                            report.head.as_deref().unwrap_or("(empty)")
                        );
                    }
                    Some((seq, why)) => {
                        anyhow::bail!(
                            "audit trail BROKEN at entry {seq}: {why} ({} entries before it are intact)",
                            report.entries
                        );
                    }
                }
            }
            AuditAction::List { limit, csv } => {
                let entries = audit::page(&client, *limit, 0).await?;
                if *csv {
                    print!("{}", audit::to_csv(&entries));
                } else {
                    for e in entries.iter().rev() {
                        println!(
                            "{:>6} {} {:<16} {:<10} {:<18} {:<20} {}",
                            e.seq,
                            e.at,
                            e.actor,
                            e.client_addr.as_deref().unwrap_or("-"),
                            e.action,
                            e.target.as_deref().unwrap_or("-"),
                            e.details
                        );
                    }
                }
            }
        }
        Ok(())
    })
    .await
}
