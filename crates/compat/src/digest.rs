//! MD5 in the spellings the protocols use, and comparisons of signatures that take the same time
//! wherever two strings first differ.

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

/// Lowercase hex MD5 of `text` (EPay).
#[must_use]
pub fn md5_hex_lower(text: &str) -> String {
    hex::encode(Md5::digest(text.as_bytes()))
}

/// Uppercase hex MD5 of `text` (weidoufu, Jeepay).
#[must_use]
pub fn md5_hex_upper(text: &str) -> String {
    hex::encode_upper(Md5::digest(text.as_bytes()))
}

/// Whether `given` is `expected`, in constant time for strings of the same length.
#[must_use]
pub fn same_text(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// [`same_text`] with ASCII letters compared regardless of case (hex signatures some clients send
/// in the other case).
#[must_use]
pub fn same_text_ignoring_case(given: &str, expected: &str) -> bool {
    let lower = |s: &str| s.to_ascii_lowercase();
    same_text(&lower(given), &lower(expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_is_spelled_in_either_case_and_compared_exactly_or_without_case() {
        assert_eq!(md5_hex_lower("abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(md5_hex_upper("abc"), "900150983CD24FB0D6963F7D28E17F72");
        assert!(same_text("ab12", "ab12"));
        assert!(!same_text("AB12", "ab12"));
        assert!(!same_text("ab1", "ab12"));
        assert!(same_text_ignoring_case("AB12", "ab12"));
        assert!(!same_text_ignoring_case("AB13", "ab12"));
    }
}
