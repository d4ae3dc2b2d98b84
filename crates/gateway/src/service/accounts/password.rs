//! Argon2id hashing and verification, off the async threads: each call costs tens of milliseconds
//! of CPU and memory by design.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash as Phc, PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::OnceCell;

use crate::domain::{Password, PasswordHash};

use super::AccountError;

/// Argon2id's cost. The default is OWASP's first recommendation (19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for PasswordCost {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Hashes new passwords at one cost and verifies against stored hashes (each at the cost it
/// records). Cheap to clone.
#[derive(Clone)]
pub(super) struct Hasher {
    cost: PasswordCost,
    /// A hash of a random password at this cost: what an unknown email is verified against, so
    /// that it takes as long as a known one.
    dummy: Arc<OnceCell<PasswordHash>>,
}

impl Hasher {
    pub(super) fn new(cost: PasswordCost) -> Self {
        Self {
            cost,
            dummy: Arc::new(OnceCell::new()),
        }
    }

    /// A PHC string of `password` with a fresh random salt.
    pub(super) async fn hash(&self, password: Password) -> Result<PasswordHash, AccountError> {
        let cost = self.cost;
        tokio::task::spawn_blocking(move || hash_now(&password, cost))
            .await
            .map_err(|e| AccountError::Hashing(e.to_string()))?
    }

    /// Whether `password` matches `stored`; with `None`, verifies against the dummy hash and
    /// returns false, at the same cost.
    pub(super) async fn verify(
        &self,
        password: Password,
        stored: Option<PasswordHash>,
    ) -> Result<bool, AccountError> {
        let (stored, real) = match stored {
            Some(stored) => (stored, true),
            None => (self.dummy().await?, false),
        };
        let matches = tokio::task::spawn_blocking(move || {
            let phc = Phc::new(stored.as_phc())
                .map_err(|e| AccountError::Hashing(format!("stored hash: {e}")))?;
            Ok::<_, AccountError>(
                Argon2::default()
                    .verify_password(password.expose().as_bytes(), &phc)
                    .is_ok(),
            )
        })
        .await
        .map_err(|e| AccountError::Hashing(e.to_string()))??;
        Ok(matches && real)
    }

    async fn dummy(&self) -> Result<PasswordHash, AccountError> {
        self.dummy
            .get_or_try_init(|| async {
                let random = Password::offered(channel_core::nonce::alphanumeric(32));
                self.hash(random).await
            })
            .await
            .cloned()
    }
}

fn hash_now(password: &Password, cost: PasswordCost) -> Result<PasswordHash, AccountError> {
    let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
        .map_err(|e| AccountError::Hashing(e.to_string()))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut salt_bytes = [0u8; 16];
    channel_core::nonce::fill(&mut salt_bytes);
    let salt = argon2::password_hash::SaltString::encode_b64(&salt_bytes)
        .map_err(|e| AccountError::Hashing(e.to_string()))?;
    let phc = argon
        .hash_password(password.expose().as_bytes(), &salt)
        .map_err(|e| AccountError::Hashing(e.to_string()))?;
    Ok(PasswordHash::from_phc(phc.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_salted_argon2id_and_verify() {
        let hasher = Hasher::new(PasswordCost::default());
        let password = || Password::new("correct horse battery".to_owned()).unwrap();
        let a = hasher.hash(password()).await.unwrap();
        let b = hasher.hash(password()).await.unwrap();
        assert!(
            a.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            a.as_phc()
        );
        assert_ne!(a, b, "a fresh salt each time");
        assert!(!a.as_phc().contains("correct horse"));
        assert!(hasher.verify(password(), Some(a.clone())).await.unwrap());
        let wrong = Password::offered("correct horse battery!".to_owned());
        assert!(!hasher.verify(wrong, Some(a)).await.unwrap());
        assert!(
            !hasher.verify(password(), None).await.unwrap(),
            "the dummy never matches"
        );
    }
}
