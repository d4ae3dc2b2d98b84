//! Jeepay's MD5 signature (`JeepayKit.getSign`): every non-empty `k=v&` entry, the entries sorted
//! with Java's `String.CASE_INSENSITIVE_ORDER`, then `key=SECRET` appended, MD5 in uppercase hex.

use std::cmp::Ordering;

use crate::{md5_hex_upper, same_text_ignoring_case};

/// The signature over `fields` with the app's secret. An empty value is left out, as Jeepay leaves
/// out `null` and `""`; the caller leaves out `sign` itself.
#[must_use]
pub fn sign<K: AsRef<str>, V: AsRef<str>>(fields: &[(K, V)], app_secret: &str) -> String {
    let mut entries: Vec<String> = fields
        .iter()
        .filter(|(_, value)| !value.as_ref().is_empty())
        .map(|(key, value)| format!("{}={}&", key.as_ref(), value.as_ref()))
        .collect();
    // Whole entries are compared, not keys, so `a_b=` sorts after `a=` exactly as Jeepay's does.
    entries.sort_by(|a, b| java_case_insensitive(a, b));
    let mut text = entries.concat();
    text.push_str("key=");
    text.push_str(app_secret);
    md5_hex_upper(&text)
}

/// Whether `given` is the signature over `fields`, in either case (Jeepay compares with
/// `equalsIgnoreCase`), in constant time.
#[must_use]
pub fn verify<K: AsRef<str>, V: AsRef<str>>(
    fields: &[(K, V)],
    app_secret: &str,
    given: &str,
) -> bool {
    same_text_ignoring_case(given, &sign(fields, app_secret))
}

/// Java's `String.CASE_INSENSITIVE_ORDER`: UTF-16 units compared after folding each one through
/// upper then lower case, a shorter prefix first.
fn java_case_insensitive(a: &str, b: &str) -> Ordering {
    let mut left = a.encode_utf16();
    let mut right = b.encode_utf16();
    loop {
        match (left.next(), right.next()) {
            (Some(x), Some(y)) if x == y => {}
            (Some(x), Some(y)) => match fold(x).cmp(&fold(y)) {
                Ordering::Equal => {}
                unequal => return unequal,
            },
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
        }
    }
}

/// `Character.toLowerCase(Character.toUpperCase(unit))`. Java maps one unit to one unit; where
/// Rust's mapping would give several characters (`ß` → `SS`) Java keeps the unit, and so does this.
fn fold(unit: u16) -> u16 {
    let Some(c) = char::from_u32(u32::from(unit)) else {
        return unit;
    };
    let upper = one_char(c.to_uppercase()).unwrap_or(c);
    let lower = one_char(upper.to_lowercase()).unwrap_or(upper);
    u16::try_from(u32::from(lower)).unwrap_or(unit)
}

fn one_char(mut chars: impl Iterator<Item = char>) -> Option<char> {
    let first = chars.next()?;
    chars.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors computed outside this code, over strings written by hand as JeepayKit builds them:
    // python3 -c "import hashlib; print(hashlib.md5(b'...').hexdigest().upper())"

    #[test]
    fn a_request_is_signed_over_its_entries_sorted_without_case_then_the_key() {
        let fields = [
            ("mchNo", "M1621873433953"),
            ("appId", "60cc09bce4b0f1c0b83761c9"),
            ("amount", "1"),
            ("Body", "goods"),
            ("reqTime", "1622016572190"),
        ];
        // amount=1&appId=60cc09bce4b0f1c0b83761c9&Body=goods&mchNo=M1621873433953&reqTime=1622016572190&key=SECRET
        assert_eq!(sign(&fields, "SECRET"), "FABA082B66BEA5060B977EAF0B2EC614");
    }

    #[test]
    fn empty_values_are_not_signed() {
        let with_empty = [("amount", "1"), ("extParam", ""), ("appId", "app")];
        let without = [("amount", "1"), ("appId", "app")];
        assert_eq!(sign(&with_empty, "k"), sign(&without, "k"));
    }

    #[test]
    fn the_order_is_java_case_insensitive_over_whole_entries() {
        assert_eq!(
            java_case_insensitive("Body=x&", "appId=y&"),
            Ordering::Greater
        );
        assert_eq!(
            java_case_insensitive("appId=y&", "amount=1&"),
            Ordering::Greater
        );
        // `=` (0x3D) before `_` (0x5F), and `_` before letters once folded to lower case.
        assert_eq!(java_case_insensitive("a=1&", "a_b=1&"), Ordering::Less);
        assert_eq!(java_case_insensitive("A_b=1&", "Ab=1&"), Ordering::Less);
        assert_eq!(java_case_insensitive("ab", "AB"), Ordering::Equal);
        assert_eq!(java_case_insensitive("ab", "abc"), Ordering::Less);
    }

    #[test]
    fn a_signature_is_accepted_in_either_case_and_only_with_the_same_key() {
        let fields = [("amount", "1"), ("appId", "app")];
        let good = sign(&fields, "right");
        assert!(verify(&fields, "right", &good));
        assert!(verify(&fields, "right", &good.to_ascii_lowercase()));
        assert!(!verify(&fields, "other", &good));
        let tampered = [("amount", "2"), ("appId", "app")];
        assert!(!verify(&tampered, "right", &good));
    }
}
