//! `paygate migrate`: applies the embedded migrations and exits (`serve` also does it at start).

use clap::Args;

use super::common::DataArgs;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    data: DataArgs,
}

pub async fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let settings = args.data.settings(None)?;
    let store = gateway::app::migrate(&settings).await?;
    store.close().await;
    println!(
        "database is up to date: {}",
        settings.database_url.redacted()
    );
    Ok(())
}
