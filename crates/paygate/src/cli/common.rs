//! The flags every command that touches paygate's data shares, and how they become settings.

use std::path::PathBuf;

use clap::Args;
use gateway::config::{Flags, Settings};
use gateway::domain::Timestamp;

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
    /// The store these flags name, migrated, its mode established (the operator's commands).
    pub async fn open_store(&self) -> anyhow::Result<gateway::store::Store> {
        let settings = self.settings(None)?;
        Ok(gateway::app::open_store(&settings).await?)
    }

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

/// Fen as yuan with two decimals (`2990` → `29.90`), by integer arithmetic.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// A time option as the operator writes it: an RFC 3339 time, or a duration back from `now`.
pub fn parse_since(text: &str, now: Timestamp) -> anyhow::Result<Timestamp> {
    if let Some(at) = Timestamp::parse_rfc3339(text) {
        return Ok(at);
    }
    match gateway::config::parse_duration(text) {
        Ok(back) => Ok(now.minus(back)),
        Err(_) => anyhow::bail!(
            "{text:?} is neither an RFC 3339 time (2024-05-01T00:00:00Z, \
             2024-05-01T08:00:00+08:00) nor a duration back from now (30m, 24h, 7d)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_has_two_decimals() {
        assert_eq!(yuan(2990), "29.90");
        assert_eq!(yuan(1), "0.01");
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(-150), "-1.50");
    }

    #[test]
    fn since_is_a_time_or_a_duration_back() {
        let now = Timestamp::from_millis(1_706_601_234_000);
        assert_eq!(
            parse_since("24h", now).ok(),
            Some(Timestamp::from_millis(1_706_601_234_000 - 86_400_000))
        );
        assert_eq!(parse_since("2024-01-30T07:53:54Z", now).ok(), Some(now));
        for bad in ["yesterday", "24", ""] {
            assert!(parse_since(bad, now).is_err(), "{bad:?}");
        }
    }
}
