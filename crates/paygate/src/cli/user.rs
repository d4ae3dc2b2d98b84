//! `paygate user …`: the operator's console users. They open the same database as `serve`; a
//! password comes from a prompt without echo or from `--password-stdin`, and neither it nor its
//! hash is ever printed. An unknown EMAIL is an error (exit status 1).

use std::io::{IsTerminal as _, Read as _};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use gateway::domain::{Actor, Email, Password, Role, SiteId, Timestamp, User};
use gateway::service::{AccountPolicy, AccountService};
use serde_json::json;

use super::common::DataArgs;

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Creates a console user; asks for the password twice unless --password-stdin.
    Create {
        #[arg(long)]
        email: String,
        /// admin (everything), viewer (everything, read-only) or site (one site's portal).
        #[arg(long, value_parser = Role::NAMES)]
        role: String,
        /// The site of a site user (required with --role site, refused otherwise).
        #[arg(long, value_name = "SITE_ID")]
        site: Option<String>,
        /// Read the password from standard input (its first line) instead of a prompt.
        #[arg(long)]
        password_stdin: bool,
        /// Print the user as `user list --json` does.
        #[arg(long)]
        json: bool,
    },
    /// Lists the users (never their passwords or hashes).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Stops a user from signing in and ends their sessions at once.
    Disable {
        email: String,
        #[arg(long)]
        json: bool,
    },
    /// Gives a user a new password (asked twice unless --password-stdin); ends their sessions
    /// and clears a lockout.
    ResetPassword {
        email: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

pub async fn run(args: UserArgs) -> anyhow::Result<()> {
    // The password is read before the database is opened: a typo at the prompt costs nothing.
    let (email, password) = match &args.command {
        UserCommand::Create {
            email,
            password_stdin,
            ..
        }
        | UserCommand::ResetPassword {
            email,
            password_stdin,
        } => {
            let email = Email::parse(email).context("email")?;
            (Some(email), Some(read_password(*password_stdin)?))
        }
        UserCommand::List { .. } => (None, None),
        UserCommand::Disable { email, .. } => (Some(Email::parse(email).context("email")?), None),
    };
    let store = args.data.open_store().await?;
    let accounts = AccountService::new(store.clone(), AccountPolicy::default());
    let result = match (args.command, email, password) {
        (
            UserCommand::Create {
                role, site, json, ..
            },
            Some(email),
            Some(password),
        ) => {
            let site = site
                .as_deref()
                .map(SiteId::parse)
                .transpose()
                .context("--site")?;
            let role = Role::parse(&role, site).context("--role")?;
            let user = accounts
                .create_user(email, role, password, Actor::Cli, Timestamp::now())
                .await?;
            show(&user, json);
            Ok(())
        }
        (UserCommand::List { json }, ..) => {
            let users = accounts.list_users().await?;
            if json {
                println!(
                    "{}",
                    serde_json::Value::Array(users.iter().map(user_json).collect())
                );
            } else {
                for user in &users {
                    println!("{}", user_line(user));
                }
            }
            Ok(())
        }
        (UserCommand::Disable { json, .. }, Some(email), _) => {
            let user = accounts
                .disable(&email, Actor::Cli, Timestamp::now())
                .await
                .with_context(|| format!("user {email}"))?;
            show(&user, json);
            Ok(())
        }
        (UserCommand::ResetPassword { .. }, Some(email), Some(password)) => {
            accounts
                .reset_password(&email, password, Actor::Cli, Timestamp::now())
                .await
                .with_context(|| format!("user {email}"))?;
            println!("password reset for {email}; their sessions have ended");
            Ok(())
        }
        _ => bail!("internal: the command's email or password was not read"),
    };
    store.close().await;
    result
}

/// The password from standard input (`--password-stdin`), else asked twice on the terminal.
fn read_password(from_stdin: bool) -> anyhow::Result<Password> {
    let typed = if from_stdin {
        let mut all = String::new();
        std::io::stdin()
            .read_to_string(&mut all)
            .context("reading the password from standard input")?;
        let line = all.lines().next().unwrap_or_default().to_owned();
        // The rest of what was read may hold the password too: wipe it.
        zeroize_string(all);
        line
    } else if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").context("reading the password")?;
        let again = rpassword::prompt_password("Again: ").context("reading the password")?;
        let same = first == again;
        zeroize_string(again);
        if !same {
            zeroize_string(first);
            bail!("the two passwords differ");
        }
        first
    } else {
        bail!("no terminal to ask for the password on: pipe it in with --password-stdin");
    };
    Password::new(typed).context("password")
}

fn zeroize_string(s: String) {
    drop(zeroize::Zeroizing::new(s));
}

fn show(user: &User, json: bool) {
    if json {
        println!("{}", user_json(user));
    } else {
        println!("{}", user_line(user));
    }
}

/// id, email, role, site (or `-`), active or disabled, and `totp` for a second factor.
fn user_line(user: &User) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}{}",
        user.id,
        user.email,
        user.role.name(),
        user.role.site().map_or("-", SiteId::as_str),
        if user.disabled { "disabled" } else { "active" },
        if user.has_totp { "\ttotp" } else { "" },
    )
}

fn user_json(user: &User) -> serde_json::Value {
    json!({
        "user_id": user.id.as_str(),
        "email": user.email.as_str(),
        "role": user.role.name(),
        "site_id": user.role.site().map(SiteId::as_str),
        "disabled": user.disabled,
        "totp": user.has_totp,
        "created_at": user.created_at.to_rfc3339(),
    })
}
