//! Fills [`Raw`] from the three layers: the TOML file, then the environment, then the flags.

use std::path::Path;

use super::ConfigError;
use super::raw::{KEYS, Origin, Raw, known};

/// The `[section]` tables of the file; their keys are `section.key`.
const SECTIONS: &[&str] = &[
    "wechat",
    "alipay",
    "notify",
    "compensation",
    "reconcile",
    "workers",
    "http",
    "metrics",
];

/// Reads `path` and records every setting in it. Unknown keys are refused so that a typo does not
/// silently leave a credential unset (and paygate in sandbox mode).
pub(crate) fn file(raw: &mut Raw, path: &Path) -> Result<(), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::ReadFile {
        path: path.to_path_buf(),
        error,
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        line: e.span().map_or(0, |s| {
            text[..s.start.min(text.len())].matches('\n').count() + 1
        }),
        message: e.message().to_owned(),
    })?;
    let origin = Origin::File(path.to_path_buf());
    for (name, value) in table {
        match value {
            toml::Value::Table(section) if SECTIONS.contains(&name.as_str()) => {
                for (sub, value) in section {
                    set_known(raw, &format!("{name}.{sub}"), value, &origin, path)?;
                }
            }
            value => set_known(raw, &name, value, &origin, path)?,
        }
    }
    Ok(())
}

fn set_known(
    raw: &mut Raw,
    name: &str,
    value: toml::Value,
    origin: &Origin,
    path: &Path,
) -> Result<(), ConfigError> {
    let key = known(name).ok_or_else(|| ConfigError::UnknownKey {
        key: name.to_owned(),
        path: path.to_path_buf(),
    })?;
    raw.set(key, value, origin.clone());
    Ok(())
}

/// Records every `PAYGATE_…` variable of a known setting. Empty variables count as unset, as
/// `VAR=` in a shell or a compose file usually means "not this one".
pub(crate) fn env(raw: &mut Raw, lookup: &dyn Fn(&str) -> Option<String>) {
    for key in KEYS {
        if let Some(value) = lookup(key.env).filter(|v| !v.trim().is_empty()) {
            raw.set(key, toml::Value::String(value), Origin::Env(key.env));
        }
    }
}

/// Records a command-line flag's value for setting `name`.
pub(crate) fn flag(raw: &mut Raw, name: &'static str, flag: &'static str, value: Option<String>) {
    if let (Some(key), Some(value)) = (known(name), value) {
        raw.set(key, toml::Value::String(value), Origin::Flag(flag));
    }
}
