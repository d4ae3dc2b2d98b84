//! Alipay's RSA2 sign content: the parameters sorted by key, `k=v` joined with `&`, nothing
//! URL-encoded, empty values and `sign` left out. Requests also sign `sign_type`; notifications
//! do not — the one difference between the two, and the easiest to get wrong.

use std::collections::BTreeMap;

/// Whether `sign_type` is part of the signed text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignTypeIn {
    /// Requests (and the parameters of page/app payments): `sign_type` is signed.
    Included,
    /// Asynchronous notifications and return-URL parameters: `sign_type` is not signed.
    Excluded,
}

/// The text Alipay signs for these parameters.
#[must_use]
pub fn sign_content<'a, I>(params: I, sign_type: SignTypeIn) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    // A BTreeMap sorts by byte order of the key, which is what Alipay's SDKs do (Java TreeMap,
    // Node `Object.keys().sort()`, both on ASCII keys).
    let sorted: BTreeMap<&str, &str> = params
        .into_iter()
        .filter(|(k, v)| {
            !v.is_empty()
                && *k != "sign"
                && !(sign_type == SignTypeIn::Excluded && *k == "sign_type")
        })
        .collect();
    let mut out = String::new();
    for (k, v) in sorted {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_skips_empty_and_sign_and_keeps_sign_type_for_requests() {
        let params = [
            ("timestamp", "2024-01-02 03:04:05"),
            ("sign", "xyz"),
            ("app_id", "2021"),
            ("notify_url", ""),
            ("sign_type", "RSA2"),
            ("biz_content", r#"{"a":"b&c=d"}"#),
        ];
        assert_eq!(
            sign_content(params, SignTypeIn::Included),
            r#"app_id=2021&biz_content={"a":"b&c=d"}&sign_type=RSA2&timestamp=2024-01-02 03:04:05"#
        );
        assert_eq!(
            sign_content(params, SignTypeIn::Excluded),
            r#"app_id=2021&biz_content={"a":"b&c=d"}&timestamp=2024-01-02 03:04:05"#
        );
    }
}
