//! The command line: one subcommand per job.

mod common;
mod migrate;
mod notify;
mod serve;
mod signal;
mod sim;
mod site;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "paygate",
    version,
    about = "A self-hosted payment gateway for WeChat Pay and Alipay."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway (sandbox mode, with simulated channels, when no credentials are configured).
    Serve(serve::ServeArgs),
    /// Apply the database migrations and exit.
    Migrate(migrate::MigrateArgs),
    /// Create, list and re-key sites.
    Site(site::SiteArgs),
    /// List, inspect and re-send merchant notifications.
    Notify(notify::NotifyArgs),
    Sim(sim::SimArgs),
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Migrate(args) => migrate::run(args).await,
        Command::Site(args) => site::run(args).await,
        Command::Notify(args) => notify::run(args).await,
        Command::Sim(args) => sim::run(args).await,
    }
}
