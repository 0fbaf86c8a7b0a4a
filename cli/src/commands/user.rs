//! `onemap user add|list|disable|enable|passwd`: the users, run as the local operator (the CLI
//! is trusted: it holds the database credentials). Every change is audited.

use std::io::{BufRead, IsTerminal};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use onemap_access::{users, Acting, Role};

#[derive(Args)]
pub struct UserArgs {
    #[command(subcommand)]
    action: UserAction,
}

#[derive(Subcommand)]
enum UserAction {
    /// Add a user (password from --password, else the first line of stdin).
    Add {
        name: String,
        /// Code of the user's department (see schemas/data/departments.csv).
        #[arg(long)]
        department: String,
        /// viewer, editor, admin or auditor.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The password (visible in the process list: prefer stdin).
        #[arg(long)]
        password: Option<String>,
        /// Create the user without a password (tokens only).
        #[arg(long, conflicts_with = "password")]
        no_password: bool,
    },
    /// List the users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: their password and tokens stop working.
    Disable { name: String },
    /// Enable a disabled user again.
    Enable { name: String },
    /// Set a user's password (from --password, else the first line of stdin).
    Passwd {
        name: String,
        #[arg(long)]
        password: Option<String>,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s)
        .ok_or_else(|| format!("role must be viewer, editor, admin or auditor, not {s:?}"))
}

/// The password given, or the first line of stdin.
fn password(given: Option<String>) -> anyhow::Result<String> {
    if let Some(p) = given {
        return Ok(p);
    }
    if std::io::stdin().is_terminal() {
        eprint!("password: ");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    let p = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(!p.is_empty(), "no password on stdin (or use --no-password)");
    Ok(p)
}

pub async fn run(ctx: &super::Context, args: UserArgs) -> anyhow::Result<()> {
    let acting = Acting::operator(super::ingest::who_am_i());
    // Read the password before starting the database, so a prompt is not mixed with its output.
    let secret = match &args.action {
        UserAction::Add {
            password: p,
            no_password: false,
            ..
        } => Some(password(p.clone())?),
        UserAction::Passwd { password: p, .. } => Some(password(p.clone())?),
        _ => None,
    };
    super::with_database(ctx, async |db| {
        let mut client = db.connect().await?;
        match &args.action {
            UserAction::Add {
                name,
                department,
                role,
                ..
            } => {
                let u = users::add(
                    &mut client,
                    &acting,
                    name,
                    department,
                    *role,
                    secret.as_deref(),
                )
                .await?;
                println!("added {} ({} of {})", u.name, u.role, u.department);
            }
            UserAction::List { json } => {
                let list = users::list(&client).await?;
                if *json {
                    println!("{}", serde_json::to_string_pretty(&list)?);
                } else {
                    for u in &list {
                        println!(
                            "{:<20} {:<8} {:<8} {:<9} tokens: {}  created {}",
                            u.user.name,
                            u.user.department,
                            u.user.role,
                            if u.disabled { "disabled" } else { "enabled" },
                            u.active_tokens,
                            u.created_at
                        );
                    }
                }
            }
            UserAction::Disable { name } => {
                users::set_disabled(&mut client, &acting, name, true).await?;
                println!("disabled {name}");
            }
            UserAction::Enable { name } => {
                users::set_disabled(&mut client, &acting, name, false).await?;
                println!("enabled {name}");
            }
            UserAction::Passwd { name, .. } => {
                let p = secret.as_deref().unwrap_or_default();
                users::set_password(&mut client, &acting, name, p).await?;
                println!("password of {name} changed");
            }
        }
        Ok(())
    })
    .await
}
