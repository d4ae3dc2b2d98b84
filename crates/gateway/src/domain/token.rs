//! Shared checks and generators for the ASCII identifiers used everywhere (ids, keys, order numbers).

/// `[A-Za-z0-9_-]`: what WeChat Pay, Alipay and seed 000 all accept in identifiers, and URL-safe.
pub(crate) fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// True if `s` has `min..=max` characters, all [`is_token_char`].
pub(crate) fn is_token(s: &str, min: usize, max: usize) -> bool {
    // All accepted characters are ASCII, so byte length equals character count here.
    (min..=max).contains(&s.len()) && s.chars().all(is_token_char)
}

/// `prefix` followed by `len` random letters and digits from the system CSPRNG.
pub(crate) fn random_with_prefix(prefix: &str, len: usize) -> String {
    let mut s = String::with_capacity(prefix.len() + len);
    s.push_str(prefix);
    s.push_str(&channel_core::nonce::alphanumeric(len));
    s
}
