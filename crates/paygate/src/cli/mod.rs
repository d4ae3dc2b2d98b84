//! The command line: one subcommand per job.

mod common;
mod migrate;
mod notify;
mod order;
mod refund;
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
    /// List orders and show one with its history, refunds, notifications and anomalies.
    Order(order::OrderArgs),
    /// Refund a paid order (sent by a running `paygate serve`), and list and show refunds.
    Refund(refund::RefundArgs),
    Sim(sim::SimArgs),
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Migrate(args) => migrate::run(args).await,
        Command::Site(args) => site::run(args).await,
        Command::Notify(args) => notify::run(args).await,
        Command::Order(args) => order::run(args).await,
        Command::Refund(args) => refund::run(args).await,
        Command::Sim(args) => sim::run(args).await,
    }
}
