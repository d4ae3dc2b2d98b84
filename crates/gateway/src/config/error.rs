//! What can be wrong with the configuration. Every message names the setting and where its value
//! came from, and never the value itself: most of these settings are secrets or point at them.
//! I/O causes are part of the message (not a `source`), so printing the chain does not repeat them.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {error}")]
    ReadFile {
        path: PathBuf,
        error: std::io::Error,
    },
    /// Only the parser's message and the line: the offending text could hold a secret.
    #[error("config file {path} is not valid TOML (line {line}): {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("unknown setting `{key}` in config file {path} (see paygate.example.toml)")]
    UnknownKey { key: String, path: PathBuf },
    #[error("setting `{setting}` (from {origin}): {reason}")]
    Invalid {
        setting: &'static str,
        origin: String,
        reason: String,
    },
    #[error(
        "setting `{setting}` is required when [{section}] is configured (config file, or {env})"
    )]
    Missing {
        setting: &'static str,
        section: &'static str,
        env: &'static str,
    },
    #[error("setting `{setting}` (from {origin}): cannot read {path}: {error}")]
    ReadSettingFile {
        setting: &'static str,
        origin: String,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "setting `public_url` (PAYGATE_PUBLIC_URL) is required in live mode (channel credentials \
         are configured): paygate's public https address, where payers and the channels reach it"
    )]
    LivePublicUrlMissing,
    #[error("master key: {0}")]
    MasterKey(String),
}
