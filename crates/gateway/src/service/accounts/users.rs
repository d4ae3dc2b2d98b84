//! Managing users: create, list, disable, reset a password, set a second factor. Each change is
//! written with its audit entry.

use crate::domain::{
    ActedBy, AuditAction, AuditEntry, Email, Password, Role, Timestamp, TotpSecret, User, UserId,
};
use crate::store::{AuditRecord, NewUser};

use super::{AccountError, AccountService};

impl AccountService {
    /// Creates a user with `password` hashed (Argon2id, fresh salt).
    ///
    /// # Errors
    /// `EmailTaken` (whatever the case of the email), `UnknownSite`, `Hashing`, `Store`.
    pub async fn create_user(
        &self,
        email: Email,
        role: Role,
        password: Password,
        by: impl Into<ActedBy>,
        now: Timestamp,
    ) -> Result<User, AccountError> {
        let password_hash = self.hasher.hash(password).await?;
        let detail = match role.site() {
            Some(site) => format!("{email}: role site of {site}"),
            None => format!("{email}: role {}", role.name()),
        };
        let audit = AuditEntry::by(now, &by.into(), AuditAction::UserCreate).detail(detail);
        let new = NewUser {
            email,
            role,
            password_hash,
        };
        Ok(self.store.create_user(&new, now, &audit).await?)
    }

    /// Every user, oldest first.
    ///
    /// # Errors
    /// `Store`.
    pub async fn list_users(&self) -> Result<Vec<User>, AccountError> {
        Ok(self.store.list_users().await?)
    }

    /// # Errors
    /// `Store`.
    pub async fn find_user(&self, email: &Email) -> Result<Option<User>, AccountError> {
        Ok(self.store.find_user_by_email(email).await?)
    }

    /// # Errors
    /// `Store`.
    pub async fn find_user_by_id(&self, id: &UserId) -> Result<Option<User>, AccountError> {
        Ok(self.store.find_user(id).await?)
    }

    /// Disables a user: they can no longer sign in, and their sessions end at once.
    ///
    /// # Errors
    /// `UnknownUser`, `Store`.
    pub async fn disable(
        &self,
        email: &Email,
        by: impl Into<ActedBy>,
        now: Timestamp,
    ) -> Result<User, AccountError> {
        let user = self.user(email).await?;
        let audit = AuditEntry::by(now, &by.into(), AuditAction::UserDisable)
            .on("user", user.id.as_str())
            .detail(user.email.as_str());
        self.store.disable_user(&user.id, now, &audit).await?;
        Ok(User {
            disabled: true,
            updated_at: now,
            ..user
        })
    }

    /// Replaces a user's password; their failure count and lock are cleared and their sessions end.
    ///
    /// # Errors
    /// `UnknownUser`, `Hashing`, `Store`.
    pub async fn reset_password(
        &self,
        email: &Email,
        password: Password,
        by: impl Into<ActedBy>,
        now: Timestamp,
    ) -> Result<User, AccountError> {
        let user = self.user(email).await?;
        let hash = self.hasher.hash(password).await?;
        let audit = AuditEntry::by(now, &by.into(), AuditAction::UserResetPassword)
            .on("user", user.id.as_str())
            .detail(user.email.as_str());
        self.store
            .set_password(&user.id, &hash, now, &audit)
            .await?;
        Ok(user)
    }

    /// Gives a user a second factor (or with `None` takes it away); the secret is sealed at rest.
    ///
    /// # Errors
    /// `UnknownUser`, `Store`.
    pub async fn set_totp(
        &self,
        email: &Email,
        secret: Option<&TotpSecret>,
        now: Timestamp,
    ) -> Result<(), AccountError> {
        let user = self.user(email).await?;
        Ok(self.store.set_totp_secret(&user.id, secret, now).await?)
    }

    /// The latest `limit` audit entries, newest first.
    ///
    /// # Errors
    /// `Store`.
    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditRecord>, AccountError> {
        Ok(self.store.list_audit(limit).await?)
    }

    async fn user(&self, email: &Email) -> Result<User, AccountError> {
        self.store
            .find_user_by_email(email)
            .await?
            .ok_or(AccountError::UnknownUser)
    }
}
