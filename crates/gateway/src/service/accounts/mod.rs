//! Console accounts: users and their roles, sign-in with lockout and per-address limits, sessions
//! with idle and absolute expiry, and the audit entries of each. The console and the `paygate user`
//! commands both come here; neither writes accounts by another path.

mod error;
mod login;
mod password;
mod users;

use std::time::Duration;

pub use error::AccountError;
pub use login::{LoginAttempt, SignedIn};
pub use password::PasswordCost;

use crate::store::Store;
use password::Hasher;

/// The limits of signing in. [`AccountPolicy::default`] is what paygate runs with.
#[derive(Debug, Clone)]
pub struct AccountPolicy {
    /// Wrong passwords in a row that lock an account...
    pub lock_after: u32,
    /// ... for this long.
    pub lock_for: Duration,
    /// Failed logins from one client address, whatever the accounts, that refuse further logins
    /// from it until its window ends.
    pub ip_limit: u32,
    pub ip_window: Duration,
    /// A session unused this long is over.
    pub idle: Duration,
    /// A session is over this long after its login, however active.
    pub absolute: Duration,
    pub password_cost: PasswordCost,
}

impl Default for AccountPolicy {
    fn default() -> Self {
        Self {
            lock_after: 10,
            lock_for: Duration::from_secs(15 * 60),
            ip_limit: 50,
            ip_window: Duration::from_secs(15 * 60),
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 60 * 60),
            password_cost: PasswordCost::default(),
        }
    }
}

/// Users, logins and sessions. Cheap to clone.
#[derive(Clone)]
pub struct AccountService {
    store: Store,
    policy: std::sync::Arc<AccountPolicy>,
    hasher: Hasher,
}

impl AccountService {
    #[must_use]
    pub fn new(store: Store, policy: AccountPolicy) -> Self {
        Self {
            hasher: Hasher::new(policy.password_cost),
            policy: std::sync::Arc::new(policy),
            store,
        }
    }

    #[must_use]
    pub fn policy(&self) -> &AccountPolicy {
        &self.policy
    }
}
