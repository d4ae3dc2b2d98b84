//! The database URL: its scheme picks the backend. It may carry a password, so it is shown only
//! with the password masked.

use std::path::Path;

#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// `sqlite:…`, `postgres://…` or `postgresql://…`.
    ///
    /// # Errors
    /// The reason, without the URL (it may hold a password).
    pub fn parse(text: &str) -> Result<Self, String> {
        let scheme = text.split_once(':').map_or("", |(s, _)| s);
        match scheme {
            "sqlite" | "postgres" | "postgresql" => Ok(Self(text.to_owned())),
            _ => Err("must start with sqlite:, postgres:// or postgresql://".to_owned()),
        }
    }

    /// The default: a SQLite file in the data dir, created when missing (`mode=rwc`).
    #[must_use]
    pub fn sqlite_in(data_dir: &Path) -> Self {
        Self(format!(
            "sqlite://{}?mode=rwc",
            data_dir.join("paygate.db").display()
        ))
    }

    #[must_use]
    pub fn is_sqlite(&self) -> bool {
        self.0.starts_with("sqlite:")
    }

    /// The URL itself, to connect with. Not for logs: see [`DatabaseUrl::redacted`].
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced by `***`, for logs and messages.
    #[must_use]
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                url.to_string()
            }
            Ok(_) => self.0.clone(),
            Err(_) => "<unparsable database URL>".to_owned(),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}
