//! The request sign: uppercase MD5 of the non-empty fields except `sign`, `k=v` joined by `&` in
//! ASCII key order, then `&secret_key=SECRET` (COMPAT §2, as the MyDotnet client builds it).
//!
//! Request bodies are JSON, so each value needs one text to be signed as; weidoufu's signature
//! page was not found, so these are choices, made to match what a client most plausibly signs:
//!
//! - a string is signed as it is (not trimmed, not URL-encoded); `""` is left out;
//! - `null` is left out;
//! - a number is signed as its decimal text (`100`), the same text as the string `"100"`;
//! - `true`/`false` as those words (no weidoufu field is boolean);
//! - an array or object (a `ledger` sent as an array) as compact JSON with object keys in ASCII
//!   order, which for the documented entry `{"amount":1,"sub_mch_no":"…"}` is the order a client
//!   writes it in; an empty array or object is left out, like an empty string. A `ledger` sent as
//!   a JSON string is signed as that string, byte for byte.
//!
//! Only the uppercase spelling is accepted: the documentation says "签名结果（大写）" and the only
//! client found sends uppercase; no evidence was found that weidoufu accepts lowercase.

use serde_json::{Map, Value};

use super::RequestError;
use crate::{md5_hex_upper, same_text};

/// The sign of `fields` under `secret_key`: 32 uppercase hex digits.
#[must_use]
pub fn sign(fields: &Map<String, Value>, secret_key: &str) -> String {
    md5_hex_upper(&signed_text(fields, secret_key))
}

/// Whether `fields` carry the sign made with `secret_key`, compared in constant time.
///
/// # Errors
/// [`RequestError::MissingSign`] without a non-empty string `sign`; [`RequestError::BadSign`]
/// when it is not the one `secret_key` makes, or `secret_key` is empty (a merchant without a key
/// must not have requests that anyone can sign).
pub fn verify(fields: &Map<String, Value>, secret_key: &str) -> Result<(), RequestError> {
    let given = match fields.get("sign") {
        Some(Value::String(given)) if !given.is_empty() => given,
        _ => return Err(RequestError::MissingSign),
    };
    if !secret_key.is_empty() && same_text(given, &sign(fields, secret_key)) {
        Ok(())
    } else {
        Err(RequestError::BadSign)
    }
}

/// The text whose MD5 is the sign: the signed fields in ASCII key order, then the key.
fn signed_text(fields: &Map<String, Value>, secret_key: &str) -> String {
    let mut pairs: Vec<(&str, String)> = fields
        .iter()
        .filter(|(key, _)| key.as_str() != "sign")
        .filter_map(|(key, value)| signed_value(value).map(|text| (key.as_str(), text)))
        .collect();
    // `Map`'s own order depends on serde_json's `preserve_order` feature, set elsewhere in a build.
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    pairs.push(("secret_key", secret_key.to_owned()));
    pairs
        .iter()
        .map(|(key, text)| format!("{key}={text}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The text `value` is signed as, or `None` when it is left out of the sign.
fn signed_value(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) if text.is_empty() => None,
        Value::String(text) => Some(text.clone()),
        Value::Array(items) if items.is_empty() => None,
        Value::Object(members) if members.is_empty() => None,
        Value::Number(_) | Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
            let mut text = String::new();
            write_sorted_json(value, &mut text);
            Some(text)
        }
    }
}

/// Compact JSON with object keys in ASCII order, whatever order `value`'s maps keep.
fn write_sorted_json(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_sorted_json(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut members: Vec<_> = members.iter().collect();
            members.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, member)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push(':');
                write_sorted_json(member, out);
            }
            out.push('}');
        }
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {
            out.push_str(&value.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("test fields must be an object"),
        }
    }

    /// The six fields the MyDotnet client signs, as its request body carries them.
    fn client_request() -> Map<String, Value> {
        fields(json!({
            "access_key": "AK0123456789",
            "body": "测试商品",
            "out_order_no": "202405010000000001",
            "pay_type": 1,
            "total_fee": 100,
            "notify_url": "https://shop.example.com/notify",
        }))
    }

    // Expected signs below were computed outside this code, with Python's hashlib over strings
    // written out by hand, e.g. for the first:
    // hashlib.md5("access_key=AK0123456789&body=测试商品&notify_url=https://shop.example.com/notify
    //   &out_order_no=202405010000000001&pay_type=1&total_fee=100&secret_key=SK-secret"
    //   .encode()).hexdigest().upper()

    #[test]
    fn a_request_is_signed_over_its_sorted_fields_then_the_secret_key() {
        assert_eq!(
            sign(&client_request(), "SK-secret"),
            "817C0807050A831A61E46774B828B900"
        );
    }

    #[test]
    fn numbers_are_signed_as_their_decimal_text_like_the_same_digits_in_a_string() {
        let mut as_strings = client_request();
        as_strings.insert("pay_type".into(), json!("1"));
        as_strings.insert("total_fee".into(), json!("100"));
        assert_eq!(
            sign(&as_strings, "SK-secret"),
            sign(&client_request(), "SK-secret")
        );
    }

    #[test]
    fn empty_and_null_fields_and_the_sign_itself_are_left_out() {
        let mut with_empties = client_request();
        with_empties.insert("attach".into(), json!(""));
        with_empties.insert("openid".into(), Value::Null);
        with_empties.insert("ledger".into(), json!([]));
        with_empties.insert("sign".into(), json!("WHATEVER"));
        assert_eq!(
            sign(&with_empties, "SK-secret"),
            "817C0807050A831A61E46774B828B900"
        );
    }

    #[test]
    fn a_ledger_string_is_signed_as_sent_and_a_ledger_array_as_sorted_compact_json() {
        // access_key=AK0123456789&attach={test:'x'}&body=测试商品&ledger=[{"amount":30,
        // "sub_mch_no":"M001"}]&notify_url=…&openid=oUpF8uMuAJO_M2pxb1Q9zNjWeS6o&out_order_no=…
        // &pay_type=1&total_fee=100&secret_key=SK-secret
        let expected = "58D2EF1F8EFCDA0845BEFA89D40AA3A6";
        let mut as_string = client_request();
        as_string.insert("openid".into(), json!("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"));
        as_string.insert("attach".into(), json!("{test:'x'}"));
        as_string.insert(
            "ledger".into(),
            json!(r#"[{"amount":30,"sub_mch_no":"M001"}]"#),
        );
        assert_eq!(sign(&as_string, "SK-secret"), expected);

        let mut as_array = as_string.clone();
        as_array.insert(
            "ledger".into(),
            json!([{"sub_mch_no": "M001", "amount": 30}]),
        );
        assert_eq!(sign(&as_array, "SK-secret"), expected);
    }

    #[test]
    fn the_sign_made_with_the_key_is_accepted_and_only_in_uppercase() {
        let mut request = client_request();
        request.insert("sign".into(), json!("817C0807050A831A61E46774B828B900"));
        assert_eq!(verify(&request, "SK-secret"), Ok(()));
        request.insert("sign".into(), json!("817c0807050a831a61e46774b828b900"));
        assert_eq!(verify(&request, "SK-secret"), Err(RequestError::BadSign));
    }

    #[test]
    fn a_sign_made_with_another_key_is_refused() {
        let mut request = client_request();
        request.insert("sign".into(), json!(sign(&request, "another-key")));
        assert_eq!(verify(&request, "SK-secret"), Err(RequestError::BadSign));
    }

    #[test]
    fn a_request_whose_amount_was_changed_after_signing_is_refused() {
        let mut request = client_request();
        request.insert("sign".into(), json!("817C0807050A831A61E46774B828B900"));
        request.insert("total_fee".into(), json!(1));
        assert_eq!(verify(&request, "SK-secret"), Err(RequestError::BadSign));
    }

    #[test]
    fn an_unsigned_request_or_an_empty_key_is_refused() {
        let mut request = client_request();
        assert_eq!(
            verify(&request, "SK-secret"),
            Err(RequestError::MissingSign)
        );
        request.insert("sign".into(), json!(""));
        assert_eq!(
            verify(&request, "SK-secret"),
            Err(RequestError::MissingSign)
        );
        request.insert("sign".into(), json!(sign(&request, "")));
        assert_eq!(verify(&request, ""), Err(RequestError::BadSign));
    }
}
