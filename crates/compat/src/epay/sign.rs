//! EPay's MD5 signature: every received parameter but `sign`, `sign_type`, arrays and empty values,
//! sorted by key, joined as `k=v&k=v` with raw values, the merchant key appended directly, lowercase
//! hex. Some clients (v2board, Xboard) sign empty values too; a signature over either spelling of
//! the same parameters is accepted, as both need the key.

use std::collections::BTreeMap;

use crate::{md5_hex_lower, same_text_ignoring_case};

/// PHP's `trim` characters: a value of only these is empty to the server.
const PHP_TRIM: &[char] = &[' ', '\t', '\n', '\r', '\0', '\x0B'];

fn is_empty(value: &str) -> bool {
    value.trim_matches(PHP_TRIM).is_empty()
}

/// Whether `key` takes part in the signature at all (empty values aside).
fn signed_key(key: &str) -> bool {
    // `a[]=1` or `a[k]=1` is an array in PHP, which the server leaves out.
    key != "sign" && key != "sign_type" && !key.contains('[')
}

/// The string that is signed, from parameters already reduced to one value per key (the last one
/// received, as PHP keeps), with empty values left out or, for the clients that sign them, kept.
#[must_use]
pub fn sign_string(fields: &BTreeMap<String, String>, keep_empty: bool) -> String {
    fields
        .iter()
        .filter(|(k, v)| signed_key(k) && (keep_empty || !is_empty(v)))
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The lowercase MD5 signature of `fields` under `key`, empty values left out: what paygate sends.
#[must_use]
pub fn sign(fields: &BTreeMap<String, String>, key: &str) -> String {
    md5_hex_lower(&format!("{}{key}", sign_string(fields, false)))
}

/// Whether `fields` carry a `sign` made with `key`, over the parameters with empty values left out
/// (the server's rule) or kept (some clients' rule). Hex case is not held against a client.
#[must_use]
pub fn verify(fields: &BTreeMap<String, String>, key: &str) -> bool {
    let Some(given) = fields.get("sign").filter(|s| !s.is_empty()) else {
        return false;
    };
    let without_empty = sign(fields, key);
    if same_text_ignoring_case(given, &without_empty) {
        return true;
    }
    let has_empty = fields.iter().any(|(k, v)| signed_key(k) && is_empty(v));
    has_empty && {
        let with_empty = md5_hex_lower(&format!("{}{key}", sign_string(fields, true)));
        same_text_ignoring_case(given, &with_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const DOC_KEY: &str = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i";

    fn doc_example() -> BTreeMap<String, String> {
        fields(&[
            ("pid", "1001"),
            ("type", "alipay"),
            ("out_trade_no", "20160806151343349"),
            ("notify_url", "http://www.pay.com/notify_url.php"),
            ("return_url", "http://www.pay.com/return_url.php"),
            ("name", "VIP会员"),
            ("money", "1.00"),
            ("sign_type", "MD5"),
        ])
    }

    #[test]
    fn the_documentation_example_signs_to_its_published_vector() {
        assert_eq!(
            sign_string(&doc_example(), false),
            "money=1.00&name=VIP会员&notify_url=http://www.pay.com/notify_url.php&out_trade_no=20160806151343349&pid=1001&return_url=http://www.pay.com/return_url.php&type=alipay"
        );
        assert_eq!(
            sign(&doc_example(), DOC_KEY),
            "427724b6656aa612cfdbe7a2262036a3"
        );
    }

    #[test]
    fn a_request_signed_with_the_key_verifies_and_one_changed_or_signed_elsewhere_does_not() {
        let mut f = doc_example();
        f.insert("sign".into(), "427724b6656aa612cfdbe7a2262036a3".into());
        assert!(verify(&f, DOC_KEY));
        let mut upper = f.clone();
        upper.insert("sign".into(), "427724B6656AA612CFDBE7A2262036A3".into());
        assert!(verify(&upper, DOC_KEY));
        assert!(!verify(&f, "another-key"));
        let mut tampered = f.clone();
        tampered.insert("money".into(), "100.00".into());
        assert!(!verify(&tampered, DOC_KEY));
        let mut unsigned = f;
        unsigned.remove("sign");
        assert!(!verify(&unsigned, DOC_KEY));
    }

    #[test]
    fn empty_values_are_unsigned_but_a_signature_that_included_them_is_accepted_too() {
        // python3: md5(b"money=10.5&name=vip&out_trade_no=o1&param=&pid=7k"), then without `param=`.
        let mut f = fields(&[
            ("pid", "7"),
            ("out_trade_no", "o1"),
            ("name", "vip"),
            ("money", "10.5"),
            ("param", ""),
        ]);
        f.insert("sign".into(), "ef7a4fa71b58853803f4ac59bfa1b0e8".into());
        assert!(verify(&f, "k"));
        f.insert("sign".into(), "27c140640cd6696a9f611622232931a5".into());
        assert!(verify(&f, "k"));
        assert_eq!(sign(&f, "k"), "27c140640cd6696a9f611622232931a5");
        // Whitespace only is empty to the server.
        let f = fields(&[("a", " \t"), ("b", "1")]);
        assert_eq!(sign_string(&f, false), "b=1");
    }

    #[test]
    fn arrays_and_the_signature_fields_themselves_are_never_signed() {
        let f = fields(&[
            ("b", "2"),
            ("a[]", "x"),
            ("sign_type", "MD5"),
            ("sign", "s"),
        ]);
        assert_eq!(sign_string(&f, true), "b=2");
    }
}
