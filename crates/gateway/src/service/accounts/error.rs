//! What can go wrong with console accounts. None of these messages holds a password, a hash, a
//! token or a second-factor code.

use crate::domain::{DomainError, Timestamp};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The same for an unknown email, a wrong password and a disabled account, so that a login
    /// form does not tell which addresses have accounts.
    #[error("wrong email or password")]
    BadCredentials,
    /// Too many wrong passwords in a row: no password is checked until `until`.
    #[error(
        "this account is locked after too many wrong passwords; try again after {}",
        until.to_rfc3339()
    )]
    Locked { until: Timestamp },
    /// Too many failed logins from this client address, whatever the accounts.
    #[error("too many failed logins from this address; try again later")]
    TooManyAttempts,
    /// The password was right and the user has a second factor: the login needs its code too.
    #[error("this account needs the code from its authenticator app")]
    SecondFactorRequired,
    #[error("wrong authenticator code")]
    BadSecondFactor,
    #[error("a user with this email already exists")]
    EmailTaken,
    #[error("no such site")]
    UnknownSite,
    #[error("no such user")]
    UnknownUser,
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// The hasher failed (it never sees a password in its message).
    #[error("password hashing: {0}")]
    Hashing(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Taken("email") => Self::EmailTaken,
            StoreError::NotFound("site") => Self::UnknownSite,
            StoreError::NotFound("user") => Self::UnknownUser,
            e => Self::Store(e),
        }
    }
}
