//! The optional second factor: time-based one-time passwords (RFC 6238 with its defaults: HMAC-SHA-1,
//! 6 digits, 30-second steps), as authenticator apps compute them. Pure functions of the secret and
//! the time.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::Timestamp;

const STEP_SECONDS: i64 = 30;
const DIGITS: u32 = 6;

/// A user's TOTP secret (sealed at rest). `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl TotpSecret {
    /// 20 random bytes: the length of an HMAC-SHA-1 key that RFC 4226 recommends.
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; 20]);
        channel_core::nonce::fill(&mut bytes);
        Self(bytes)
    }

    #[must_use]
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The code for the 30-second step holding `at`.
    #[must_use]
    pub fn code_at(&self, at: Timestamp) -> u32 {
        hotp(&self.0, step(at))
    }

    /// Whether `code` is the one of `at`'s step or of the step either side (a phone's clock a
    /// little off). Compared in constant time.
    #[must_use]
    pub fn accepts(&self, code: &str, at: Timestamp) -> bool {
        let code = code.trim();
        if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let now = step(at);
        let mut ok = subtle::Choice::from(0);
        for s in [now - 1, now, now + 1] {
            let expected = format!("{:06}", hotp(&self.0, s));
            ok |= expected.as_bytes().ct_eq(code.as_bytes());
        }
        ok.into()
    }
}

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

fn step(at: Timestamp) -> i64 {
    at.as_millis().div_euclid(1000).div_euclid(STEP_SECONDS)
}

/// RFC 4226's HOTP with dynamic truncation, to [`DIGITS`] digits.
fn hotp(key: &[u8], counter: i64) -> u32 {
    // HMAC takes keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key) else {
        return 0;
    };
    // A step before 1970 is not a time anyone signs in at; 0 keeps this total.
    mac.update(&u64::try_from(counter).unwrap_or(0).to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 10u32.pow(DIGITS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (the 8-digit codes' last six digits: the truncation is the
    /// same, only the modulus differs).
    #[test]
    fn rfc_6238_appendix_b_vectors() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        for (seconds, eight_digits) in [
            (59_i64, 94_287_082_u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            let at = Timestamp::from_millis(seconds * 1000);
            assert_eq!(secret.code_at(at), eight_digits % 1_000_000, "T={seconds}");
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_no_further() {
        let secret = TotpSecret::generate();
        let at = Timestamp::from_millis(1_700_000_000_000);
        let code = format!("{:06}", secret.code_at(at));
        assert!(secret.accepts(&code, at));
        assert!(secret.accepts(&code, at.plus(std::time::Duration::from_secs(30))));
        assert!(secret.accepts(&code, at.minus(std::time::Duration::from_secs(30))));
        assert!(!secret.accepts(&code, at.plus(std::time::Duration::from_secs(90))));
        assert!(!secret.accepts("", at));
        assert!(!secret.accepts("12345", at));
        assert!(!secret.accepts("abcdef", at));
        assert_eq!(format!("{secret:?}"), "TotpSecret(<redacted>)");
    }
}
