//! Random strings for `nonce_str`, notification nonces and ids.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A random string of `len` ASCII letters and digits from the system's CSPRNG.
#[must_use]
pub fn alphanumeric(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    fill(&mut bytes);
    // 62 does not divide 256; the bias (under 1 %) does not matter for a nonce, whose only job is
    // to be unpredictable and not repeat.
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// Fills `out` from the system's CSPRNG.
///
/// # Panics
/// Only if the operating system cannot produce random bytes, in which case nothing secure can go on.
pub fn fill(out: &mut [u8]) {
    #[allow(clippy::expect_used)]
    SystemRandom::new()
        .fill(out)
        .expect("the system random number generator failed");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_have_the_asked_length_and_differ() {
        let a = alphanumeric(32);
        let b = alphanumeric(32);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
