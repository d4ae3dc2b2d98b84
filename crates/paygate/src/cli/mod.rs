//! The command line: one subcommand per job.

mod bench;
mod common;
mod demo;
mod merchant;
mod migrate;
mod notify;
mod order;
mod reconcile;
mod reconcile_progress;
mod refund;
mod serve;
mod signal;
mod sim;
mod site;
mod site_combine;
mod site_compat;
mod site_money;
mod site_receiver;
mod user;

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
    /// Show a site's whole round trip in a few seconds, on a throwaway sandbox.
    ///
    /// paygate runs in this process on a temporary data dir (removed at the end; your data dir,
    /// database and settings are not used). On each channel an order is created, paid in the
    /// simulator and partly refunded, and every signed notification is verified as a site would.
    Demo(demo::DemoArgs),
    /// Apply the database migrations and exit.
    Migrate(migrate::MigrateArgs),
    /// Create, list and re-key sites; set the operator's fee; show their balance.
    Site(site::SiteArgs),
    /// Create, list and disable console users, and reset their passwords.
    User(user::UserArgs),
    /// List, inspect and re-send merchant notifications.
    Notify(notify::NotifyArgs),
    /// List orders and show one with its history, refunds, notifications and anomalies.
    Order(order::OrderArgs),
    /// Reconcile a day against the channels' bills (run by `paygate serve`), and show its report.
    Reconcile(reconcile::ReconcileArgs),
    /// Refund a paid order (sent by a running `paygate serve`), and list and show refunds.
    Refund(refund::RefundArgs),
    Sim(sim::SimArgs),
    /// Measure paygate on this machine: order creation, status polls and streams, callbacks,
    /// notifications and refunds, against the machine's bounds (see bench/RESULTS.md).
    ///
    /// Starts this executable as `paygate serve` on a throwaway sandbox (SQLite, then PostgreSQL)
    /// and drives it over loopback HTTP. Build with --release for figures worth reading.
    Bench(bench::BenchArgs),
}

impl Cli {
    /// What is logged (on stderr) unless `RUST_LOG` says otherwise: the demo's own lines tell its
    /// story, so the in-process paygate only speaks up when something is wrong.
    pub fn default_log_filter(&self) -> &'static str {
        match self.command {
            Command::Demo(_) => "warn",
            // The throwaway database's DROP may be slow; that is not worth a warning.
            Command::Bench(_) => "warn,sqlx=error",
            _ => "info",
        }
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Migrate(args) => migrate::run(args).await,
        Command::Site(args) => site::run(args).await,
        Command::User(args) => user::run(args).await,
        Command::Notify(args) => notify::run(args).await,
        Command::Order(args) => order::run(args).await,
        Command::Reconcile(args) => reconcile::run(args).await,
        Command::Refund(args) => refund::run(args).await,
        Command::Sim(args) => sim::run(args).await,
        Command::Bench(args) => bench::run(args).await,
    }
}
