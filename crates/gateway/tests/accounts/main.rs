//! The account service: sign-in with its lockout and limits, sessions and their expiry, users'
//! management, and what the audit log records. The clock is passed in, never slept on.

// Helpers outside `#[test]` functions: a failure there is the test failing, so unwrap is right.
#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
#[allow(dead_code)]
mod support;

mod login;
mod sessions;
mod users;

use std::time::Duration;

use gateway::domain::{Actor, Email, Password, Role, SessionToken, Timestamp, User};
use gateway::service::{
    AccountError, AccountPolicy, AccountService, LoginAttempt, PasswordCost, SignedIn,
};
use gateway::store::Store;

pub const MINUTE: Duration = Duration::from_secs(60);
pub const PASSWORD: &str = "correct horse battery";

/// A time `minutes` after a fixed start.
pub fn at(minutes: i64) -> Timestamp {
    Timestamp::from_millis(1_700_000_000_000 + minutes * 60_000)
}

/// The default policy at a lighter hashing cost (the cost itself is tested beside the hasher).
pub fn service(store: &Store) -> AccountService {
    let policy = AccountPolicy {
        password_cost: PasswordCost {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        },
        ..AccountPolicy::default()
    };
    AccountService::new(store.clone(), policy)
}

pub fn password(s: &str) -> Password {
    Password::new(s.to_owned()).unwrap()
}

pub async fn create(accounts: &AccountService, email: &str, role: Role) -> User {
    accounts
        .create_user(
            Email::parse(email).unwrap(),
            role,
            password(PASSWORD),
            Actor::Cli,
            at(0),
        )
        .await
        .unwrap()
}

pub fn attempt<'a>(email: &'a str, password: &str, now: Timestamp) -> LoginAttempt<'a> {
    LoginAttempt {
        email,
        password: Password::offered(password.to_owned()),
        totp: None,
        ip: Some("192.0.2.10"),
        replaces: None,
        now,
    }
}

pub async fn login(
    accounts: &AccountService,
    email: &str,
    password: &str,
    now: Timestamp,
) -> Result<SignedIn, AccountError> {
    accounts.login(attempt(email, password, now)).await
}

pub async fn signed_in(accounts: &AccountService, token: &SessionToken, now: Timestamp) -> bool {
    accounts.session(token, now).await.unwrap().is_some()
}
