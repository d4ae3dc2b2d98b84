//! The flags every command that touches paygate's data shares, and how they become settings.

use std::path::PathBuf;

use clap::Args;
use gateway::config::{Flags, Settings};

#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// TOML config file (see paygate.example.toml). [env: PAYGATE_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where paygate keeps its SQLite file, master key and sandbox state [default: ./data].
    /// [env: PAYGATE_DATA_DIR]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// sqlite://PATH?mode=rwc or postgres://USER:PASSWORD@HOST/DB
    /// [default: sqlite://<data-dir>/paygate.db?mode=rwc] [env: PAYGATE_DATABASE_URL]
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Run as (or initialise) a sandbox database without channel credentials: needed on PostgreSQL,
    /// where a sandbox is never assumed. The embedded SQLite default is a sandbox without it.
    /// [env: PAYGATE_SANDBOX]
    #[arg(long, global = true)]
    sandbox: bool,
}

impl DataArgs {
    /// The settings from the config file, the environment and these flags (plus `listen`).
    pub fn settings(&self, listen: Option<String>) -> anyhow::Result<Settings> {
        // The error names the setting and where it came from; that is the whole message.
        Ok(Settings::load(Flags {
            config: self.config.clone(),
            listen,
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            sandbox: self.sandbox,
        })?)
    }
}
