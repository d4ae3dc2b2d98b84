//! `paygate migrate`: applies the embedded migrations and exits (`serve` also does it at start).
//! With `--mode`, also records whether the database is sandbox or live: the one way to settle it for
//! a database an older paygate used, which holds sites but no record.

use clap::{Args, ValueEnum};
use gateway::domain::Mode;

use super::common::DataArgs;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Record the database's mode, for good, if it has none yet (refused if it records the other)
    #[arg(long, value_enum, value_name = "MODE")]
    mode: Option<ModeArg>,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModeArg {
    Sandbox,
    Live,
}

pub async fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let settings = args.data.settings(None)?;
    let store = gateway::app::migrate(&settings).await?;
    let recorded = match args.mode {
        Some(mode) => {
            let mode = match mode {
                ModeArg::Sandbox => Mode::Sandbox,
                ModeArg::Live => Mode::Live,
            };
            let recorded = gateway::mode::record(&store, mode).await;
            recorded.map(Some)
        }
        None => Ok(None),
    };
    store.close().await;
    let recorded = recorded?;
    println!(
        "database is up to date: {}",
        settings.database_url.redacted()
    );
    if let Some(mode) = recorded {
        println!("database mode: {mode}");
    }
    Ok(())
}
