//! Transport failures, kept apart from "the channel said no": after a timeout or a dropped
//! connection the outcome is unknown and must be found out by query, never assumed.

/// The request may or may not have reached the channel; nobody knows what it did.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("timed out waiting for the channel")]
    Timeout,
    #[error("could not connect to the channel: {0}")]
    Connect(String),
    #[error("transport failure: {0}")]
    Other(String),
}

impl From<reqwest::Error> for TransportError {
    fn from(e: reqwest::Error) -> Self {
        // The URL may carry query parameters; they hold no secrets here, but keep messages short.
        let e = e.without_url();
        if e.is_timeout() {
            Self::Timeout
        } else if e.is_connect() {
            Self::Connect(e.to_string())
        } else {
            Self::Other(e.to_string())
        }
    }
}
