//! `onemap token create|revoke|list`: bearer tokens for the API and scripts, run as the local
//! operator. `create` prints the token once; only its digest is stored.

use clap::{Args, Subcommand};
use onemap_access::{tokens, Acting};

#[derive(Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    action: TokenAction,
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create a token for a user and print it (on stdout, alone on its line).
    Create {
        /// The user.
        name: String,
        /// What the token is for (shown in `token list`).
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke a token, given its id (from `token list`) or the token itself.
    Revoke { id_or_token: String },
    /// List tokens (never the tokens themselves), of one user or of everyone.
    List { name: Option<String> },
}

pub async fn run(ctx: &super::Context, args: TokenArgs) -> anyhow::Result<()> {
    let acting = Acting::operator(super::ingest::who_am_i());
    super::with_database(ctx, async |db| {
        let mut client = db.connect().await?;
        match &args.action {
            TokenAction::Create { name, label } => {
                let (id, token) = tokens::create(&mut client, &acting, name, label).await?;
                eprintln!("token {id} for {name} (shown once; keep it secret):");
                println!("{token}");
            }
            TokenAction::Revoke { id_or_token } => {
                let id = tokens::revoke(&mut client, &acting, id_or_token).await?;
                println!("revoked token {id}");
            }
            TokenAction::List { name } => {
                for t in tokens::list(&client, name.as_deref()).await? {
                    println!(
                        "{:>6}  {:<20} {:<8} {}  {}",
                        t.id,
                        t.user,
                        if t.revoked { "revoked" } else { "active" },
                        t.created_at,
                        t.label
                    );
                }
            }
        }
        Ok(())
    })
    .await
}
