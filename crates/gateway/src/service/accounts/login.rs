//! Signing in and out, and finding the user behind a session cookie.
//!
//! An unknown email, a wrong password and a disabled account give the same answer after the same
//! work (a password verification, against a dummy hash when there is no account), so the form does
//! not tell which addresses have accounts. A locked account and a blocked address get answers of
//! their own: the user must know to wait.

use std::net::{IpAddr, Ipv6Addr};

use crate::domain::{
    Actor, AuditAction, AuditEntry, Email, Password, Session, SessionToken, Timestamp, User,
    new_csrf_token,
};
use crate::store::{Credentials, FailedLogin, NewSession};

use super::{AccountError, AccountService};

/// One login as the form sends it.
#[derive(Debug)]
pub struct LoginAttempt<'a> {
    /// As typed: parsed here, since a malformed one must fail like an unknown one.
    pub email: &'a str,
    pub password: Password,
    /// The authenticator code, for users with a second factor.
    pub totp: Option<&'a str>,
    pub ip: Option<&'a str>,
    /// The session cookie the browser still sent, if any: ended at login (a new token every time).
    pub replaces: Option<&'a SessionToken>,
    pub now: Timestamp,
}

/// A successful login: the new token for the cookie, and what it signs in.
#[derive(Debug)]
pub struct SignedIn {
    pub token: SessionToken,
    pub session: Session,
    pub user: User,
}

impl AccountService {
    /// Signs a user in and starts a new session.
    ///
    /// # Errors
    /// `TooManyAttempts` while the address is over its limit; `Locked` while the account is locked
    /// (also from the wrong password that locks it); `BadCredentials` for an unknown email, a
    /// wrong password or a disabled account; `SecondFactorRequired` / `BadSecondFactor` for a user
    /// with a second factor; `Hashing`, `Store`.
    pub async fn login(&self, attempt: LoginAttempt<'_>) -> Result<SignedIn, AccountError> {
        let now = attempt.now;
        if let Some(ip) = attempt.ip {
            let failures = self
                .store
                .ip_failures(&limit_key(ip), now, self.policy.ip_window)
                .await?;
            if failures >= self.policy.ip_limit {
                return Err(AccountError::TooManyAttempts);
            }
        }
        let credentials = match Email::parse(attempt.email) {
            Ok(email) => self.store.credentials(&email).await?,
            Err(_) => None,
        };
        if let Some(until) = credentials
            .as_ref()
            .and_then(|c| c.locked_until)
            .filter(|until| *until > now)
        {
            // Not counted against the account (its lock would never end under a steady guesser),
            // but against the address.
            let user = credentials.as_ref().map(|c| &c.user);
            self.fail(None, user, attempt.ip, now, "account locked")
                .await?;
            return Err(AccountError::Locked { until });
        }
        let stored = credentials.as_ref().map(|c| c.password_hash.clone());
        let matches = self.hasher.verify(attempt.password, stored).await?;
        let credentials = match credentials {
            Some(credentials) if matches => credentials,
            known => {
                let user = known.as_ref().map(|c| &c.user);
                return Err(self
                    .wrong_secret(user, attempt.ip, now, "wrong password")
                    .await?);
            }
        };
        if credentials.user.disabled {
            let user = Some(&credentials.user);
            self.fail(None, user, attempt.ip, now, "account disabled")
                .await?;
            return Err(AccountError::BadCredentials);
        }
        self.check_second_factor(&credentials, attempt.totp, attempt.ip, now)
            .await?;
        self.start(&credentials, attempt.ip, attempt.replaces, now)
            .await
    }

    /// The user signed in by `token`, the session's last use moved to `now`; `None` when the
    /// session is unknown, idle too long, past its absolute expiry, or its user is disabled.
    ///
    /// # Errors
    /// `Store`.
    pub async fn session(
        &self,
        token: &SessionToken,
        now: Timestamp,
    ) -> Result<Option<(Session, User)>, AccountError> {
        let Some(session) = self
            .store
            .touch_session(token, now, self.policy.idle)
            .await?
        else {
            return Ok(None);
        };
        let user = self.store.find_user(&session.user_id).await?;
        Ok(user.filter(|u| !u.disabled).map(|u| (session, u)))
    }

    /// Ends the session of `token`; true if there was a live one.
    ///
    /// # Errors
    /// `Store`.
    pub async fn logout(
        &self,
        token: &SessionToken,
        ip: Option<&str>,
        now: Timestamp,
    ) -> Result<bool, AccountError> {
        let Some((_, user)) = self.session(token, now).await? else {
            return Ok(false);
        };
        let audit = AuditEntry::new(now, actor(&user), AuditAction::Logout)
            .on("user", user.id.as_str())
            .from_ip(ip);
        Ok(self.store.end_session(token, &audit).await?)
    }

    /// Deletes what the policy has made dead by `now`: sessions idle too long or past their
    /// absolute expiry, and per-address failure counts whose window ended. Returns how many of
    /// each. Neither would be honoured anyway; this keeps the tables small (the background purge,
    /// `workers::purge_accounts`, runs it).
    ///
    /// # Errors
    /// `Store`.
    pub async fn purge_expired(&self, now: Timestamp) -> Result<(u64, u64), AccountError> {
        let sessions = self.store.purge_sessions(now, self.policy.idle).await?;
        let failures = self
            .store
            .purge_login_failures(now, self.policy.ip_window)
            .await?;
        Ok((sessions, failures))
    }

    /// A wrong password (or code): counted against the address and, when known, the account.
    /// `Locked` if the account is now locked, else `BadCredentials`.
    async fn wrong_secret(
        &self,
        user: Option<&User>,
        ip: Option<&str>,
        now: Timestamp,
        reason: &str,
    ) -> Result<AccountError, AccountError> {
        let counts = self.fail(user, user, ip, now, reason).await?;
        Ok(match counts.locked_until {
            Some(until) => AccountError::Locked { until },
            None => AccountError::BadCredentials,
        })
    }

    /// Records a failed login: always against the address, against `counted`'s account when
    /// given, with an audit entry about `about` (or about nobody known).
    async fn fail(
        &self,
        counted: Option<&User>,
        about: Option<&User>,
        ip: Option<&str>,
        now: Timestamp,
        reason: &str,
    ) -> Result<crate::store::FailureCounts, AccountError> {
        let mut audit = AuditEntry::new(now, Actor::Anonymous, AuditAction::LoginFailed)
            .from_ip(ip)
            .detail(reason);
        if let Some(user) = about {
            audit = audit.on("user", user.id.as_str());
        }
        let key = ip.map(limit_key);
        let failed = FailedLogin {
            user: counted.map(|u| &u.id),
            ip: key.as_deref(),
            at: now,
            account_limit: self.policy.lock_after,
            lock_for: self.policy.lock_for,
            ip_window: self.policy.ip_window,
        };
        Ok(self.store.record_failed_login(&failed, &audit).await?)
    }

    async fn check_second_factor(
        &self,
        credentials: &Credentials,
        code: Option<&str>,
        ip: Option<&str>,
        now: Timestamp,
    ) -> Result<(), AccountError> {
        let Some(secret) = &credentials.totp else {
            return Ok(());
        };
        let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
            return Err(AccountError::SecondFactorRequired);
        };
        if secret.accepts(code, now) {
            return Ok(());
        }
        let user = Some(&credentials.user);
        match self
            .wrong_secret(user, ip, now, "wrong authenticator code")
            .await?
        {
            AccountError::BadCredentials => Err(AccountError::BadSecondFactor),
            other => Err(other),
        }
    }

    async fn start(
        &self,
        credentials: &Credentials,
        ip: Option<&str>,
        replaces: Option<&SessionToken>,
        now: Timestamp,
    ) -> Result<SignedIn, AccountError> {
        let user = &credentials.user;
        let token = SessionToken::generate();
        let csrf_token = new_csrf_token();
        let expires_at = now.plus(self.policy.absolute);
        let audit = AuditEntry::new(now, actor(user), AuditAction::Login)
            .on("user", user.id.as_str())
            .from_ip(ip);
        let new = NewSession {
            token: &token,
            user_id: &user.id,
            verified_hash: &credentials.password_hash,
            csrf_token: &csrf_token,
            ip,
            at: now,
            expires_at,
            replaces,
        };
        // Lost only to a change since the password was checked (disabled, locked, reset).
        if !self.store.start_session(&new, &audit).await? {
            return Err(AccountError::BadCredentials);
        }
        Ok(SignedIn {
            session: Session {
                user_id: user.id.clone(),
                csrf_token,
                created_at: now,
                last_seen_at: now,
                expires_at,
                ip: ip.map(str::to_owned),
            },
            user: user.clone(),
            token,
        })
    }
}

/// What the per-address failure limit counts `ip` under: an IPv4 address whole (an IPv4-mapped
/// IPv6 one as the IPv4 address it is), an IPv6 address by its /64 — one subscriber or host is
/// commonly handed a whole /64, so counting its addresses one by one would give a guesser 2^64
/// fresh limits. Text that is no address (a proxy's odd header) is counted as it is.
fn limit_key(ip: &str) -> String {
    match ip.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", Ipv6Addr::from(network))
            }
        },
        Err(_) => ip.to_owned(),
    }
}

fn actor(user: &User) -> Actor {
    Actor::User {
        id: user.id.clone(),
        email: user.email.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::limit_key;

    #[test]
    fn ipv6_addresses_are_counted_by_their_64_and_ipv4_ones_whole() {
        // Every address of one /64 is one key; the next /64 is another.
        assert_eq!(limit_key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(
            limit_key("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            "2001:db8:1:2::/64"
        );
        assert_eq!(limit_key("2001:db8:1:3::1"), "2001:db8:1:3::/64");
        assert_eq!(limit_key("::1"), "::/64");
        // IPv4 whole, also when it came IPv4-mapped.
        assert_eq!(limit_key("198.51.100.7"), "198.51.100.7");
        assert_eq!(limit_key("198.51.100.8"), "198.51.100.8");
        assert_eq!(limit_key("::ffff:198.51.100.7"), "198.51.100.7");
        // Not an address: kept as it is rather than merged with anything.
        assert_eq!(limit_key("unknown"), "unknown");
    }
}
