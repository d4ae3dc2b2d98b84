//! The merchant API's one error type. Every answer that is not a success has the shape
//! `{"error":"<code>","message":"<human text>","field":"<field>"?,"upstream":{…}?}`, where the code
//! and the HTTP status come from [`ErrorCode`] (declared once, with its meaning, in `code.rs`) and
//! the one mapping from errors to codes is in `mapping.rs`.

mod code;
mod mapping;
mod response;

pub use code::ErrorCode;
pub use response::{ErrorBody, UpstreamDetail};

use crate::domain::DomainError;
use crate::service::{CombineError, ServiceError};
use crate::store::StoreError;

/// Why a signed request was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("header {0} is required")]
    MissingHeader(&'static str),
    #[error("header {0} is malformed")]
    MalformedHeader(&'static str),
    #[error("unknown access key")]
    UnknownAccessKey,
    #[error("signature does not match")]
    InvalidSignature,
    #[error("timestamp is more than {0} seconds away from the server's clock")]
    StaleTimestamp(u64),
    #[error("nonce was already used")]
    NonceReused,
    #[error("site is disabled")]
    SiteDisabled,
}

/// Everything the API can answer other than success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A request field that does not parse; names the field.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// Several required fields absent at once (seed 000's `missing_fields`).
    #[error("missing required fields: {}", .0.join(", "))]
    MissingFields(Vec<&'static str>),
    #[error("request body is not valid JSON: {0}")]
    InvalidJson(String),
    /// An object in the body has a key twice: which one counts would depend on the reader.
    #[error("request body has a key twice in one object ({0}); send each key once")]
    DuplicateKey(String),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("request body did not arrive within {} seconds", .0.as_secs())]
    BodyTimeout(std::time::Duration),
    /// Too many unauthenticated requests from this client; it may retry after the duration.
    #[error("too many requests from this address; retry after {} seconds", response::retry_after_secs(*.0))]
    RateLimited(std::time::Duration),
    #[error("no such route")]
    RouteNotFound,
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// No notification event of the signing site has this id (another site's event included).
    #[error("no notification of this site has this event id")]
    NotificationNotFound,
    #[error("the database is not reachable")]
    NotReady,
    /// Includes paygate's own failures (database, a channel call that could not be built): those
    /// answer `internal_error`, with the cause logged and never answered.
    #[error(transparent)]
    Service(ServiceError),
    /// A combined order refused or not found (a service failure inside answers as `Service`).
    #[error(transparent)]
    Combine(CombineError),
}

impl From<CombineError> for ApiError {
    fn from(e: CombineError) -> Self {
        match e {
            CombineError::Service(e) => e.into(),
            other => Self::Combine(other),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            // Order creation learns of a replay in its transaction, not in the signature check:
            // answered as the signature check answers every other replay, byte for byte.
            ServiceError::NonceReused => Self::Auth(AuthError::NonceReused),
            other => Self::Service(other),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Service(ServiceError::Store(e))
    }
}
