//! Reading one field of a request's JSON object into a plain value, with the refusal it earns.

use channel_core::money::Fen;
use serde_json::{Map, Value};
use url::Url;

use super::RequestError;

/// The documentation's `int(9)`: at most nine digits of fen.
const MAX_FEE: i64 = 999_999_999;

/// A request's fields, read by name.
pub(super) struct Fields<'a>(pub(super) &'a Map<String, Value>);

impl<'a> Fields<'a> {
    pub(super) fn get(&self, name: &str) -> Option<&'a Value> {
        self.0.get(name)
    }

    /// A text field; absent, `null` and `""` are all "not given", as they are unsigned.
    pub(super) fn text(
        &self,
        name: &'static str,
        max_chars: usize,
    ) -> Result<Option<&'a str>, RequestError> {
        let text = match self.0.get(name) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(text)) if text.is_empty() => return Ok(None),
            Some(Value::String(text)) => text.as_str(),
            Some(_) => return Err(RequestError::NotText(name)),
        };
        // Lengths are in characters, not bytes: a 32-character `body` may be all Chinese.
        if text.chars().count() > max_chars {
            return Err(RequestError::TooLong {
                field: name,
                max: max_chars,
            });
        }
        Ok(Some(text))
    }

    pub(super) fn required_text(
        &self,
        name: &'static str,
        max_chars: usize,
    ) -> Result<&'a str, RequestError> {
        self.text(name, max_chars)?
            .ok_or(RequestError::Missing(name))
    }

    /// An `http(s)` URL field of at most 128 characters (the documentation's `string(128)`).
    pub(super) fn url(&self, name: &'static str) -> Result<Option<Url>, RequestError> {
        let Some(text) = self.text(name, 128)? else {
            return Ok(None);
        };
        match Url::parse(text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                Ok(Some(url))
            }
            _ => Err(RequestError::BadUrl(name)),
        }
    }

    /// An integer field, or `None` when absent, `null` or `""`; `Err(())` when it is something
    /// else than an integer.
    pub(super) fn integer(&self, name: &str) -> Result<Option<i64>, ()> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.is_empty() => Ok(None),
            Some(value) => integer(value).map(Some).ok_or(()),
        }
    }

    /// `total_fee`: whole fen from 1 to [`MAX_FEE`].
    pub(super) fn total_fee(&self) -> Result<Fen, RequestError> {
        match self.integer("total_fee") {
            Ok(None) => Err(RequestError::Missing("total_fee")),
            Ok(Some(fen)) if (1..=MAX_FEE).contains(&fen) => Ok(Fen(fen)),
            Ok(Some(_)) | Err(()) => Err(RequestError::BadTotalFee),
        }
    }
}

/// A JSON integer, or a string of ASCII digits: clients that build their body from form values
/// send numbers as strings, and the sign covers the same text either way. A fraction (`1.5`,
/// `100.0`), an exponent or a sign in a string is not an integer.
pub(super) fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text)
            if !text.is_empty() && text.len() <= 18 && text.bytes().all(|b| b.is_ascii_digit()) =>
        {
            text.parse().ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn integers_are_json_integers_or_plain_digit_strings() {
        assert_eq!(integer(&json!(100)), Some(100));
        assert_eq!(integer(&json!(-3)), Some(-3));
        assert_eq!(integer(&json!("100")), Some(100));
        assert_eq!(integer(&json!(100.0)), None);
        assert_eq!(integer(&json!(1.5)), None);
        assert_eq!(integer(&json!("1.5")), None);
        assert_eq!(integer(&json!("-3")), None);
        assert_eq!(integer(&json!(" 1")), None);
        assert_eq!(integer(&json!(u64::MAX)), None);
        assert_eq!(integer(&json!(true)), None);
    }
}
