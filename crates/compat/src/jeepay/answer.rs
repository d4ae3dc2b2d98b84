//! Jeepay's answer envelope (`ApiRes`): `{code:0,msg:"SUCCESS",data,sign}` with `sign` over the
//! fields of `data` (`ApiRes.okWithSign`), or `{code,msg}` alone for a refusal.

use serde_json::{Map, Value, json};

use super::{JeepayError, sign};

/// One field of an answer's `data` or of a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Text(String),
    Number(i64),
}

impl FieldValue {
    /// The text Jeepay signs: a string as it is, a number in decimal (Java's `toString`).
    fn signed_text(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Number(number) => number.to_string(),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Self::Text(text) => Value::String(text.clone()),
            Self::Number(number) => Value::from(*number),
        }
    }
}

/// The present fields of a Jeepay object, in order; an absent (`null`) field is left out, as
/// fastjson leaves it out of both the JSON and the signature.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields(Vec<(&'static str, FieldValue)>);

impl Fields {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    #[must_use]
    pub fn text(mut self, name: &'static str, value: &str) -> Self {
        self.0.push((name, FieldValue::Text(value.to_owned())));
        self
    }

    #[must_use]
    pub fn maybe_text(self, name: &'static str, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.text(name, value),
            None => self,
        }
    }

    #[must_use]
    pub fn number(mut self, name: &'static str, value: i64) -> Self {
        self.0.push((name, FieldValue::Number(value)));
        self
    }

    #[must_use]
    pub fn maybe_number(self, name: &'static str, value: Option<i64>) -> Self {
        match value {
            Some(value) => self.number(name, value),
            None => self,
        }
    }

    /// Each field with the text it is signed as (the signature leaves out empty ones itself).
    #[must_use]
    pub fn signed(&self) -> Vec<(&'static str, String)> {
        self.0
            .iter()
            .map(|(name, value)| (*name, value.signed_text()))
            .collect()
    }

    /// The JSON object of the fields.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let object: Map<String, Value> = self
            .0
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.to_json()))
            .collect();
        Value::Object(object)
    }
}

/// What an answer's `data` holds.
pub trait AnswerData {
    fn fields(&self) -> Fields;
}

/// A successful answer with `data` signed by the app's secret.
#[must_use]
pub fn ok_with_sign(data: &impl AnswerData, app_secret: &str) -> Value {
    let fields = data.fields();
    json!({
        "code": 0,
        "msg": "SUCCESS",
        "data": fields.to_json(),
        "sign": sign::sign(&fields.signed(), app_secret),
    })
}

/// A refusal: `code` and `msg`, no `data`, no `sign`.
#[must_use]
pub fn fail(error: &JeepayError) -> Value {
    json!({ "code": error.code(), "msg": error.msg() })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Two;

    impl AnswerData for Two {
        fn fields(&self) -> Fields {
            Fields::new()
                .text("payOrderId", "P1")
                .number("orderState", 2)
                .text("payData", "")
                .maybe_text("errCode", None)
        }
    }

    #[test]
    fn a_success_signs_its_data_and_leaves_out_absent_fields() {
        let answer = ok_with_sign(&Two, "SECRET");
        // python3 -c "import hashlib; print(hashlib.md5(b'orderState=2&payOrderId=P1&key=SECRET').hexdigest().upper())"
        assert_eq!(
            answer,
            json!({
                "code": 0,
                "msg": "SUCCESS",
                "data": {"payOrderId": "P1", "orderState": 2, "payData": ""},
                "sign": "829EA4491253790B0B3E67B9902EBB36",
            })
        );
    }

    #[test]
    fn a_refusal_has_no_data_and_no_sign() {
        assert_eq!(
            fail(&JeepayError::Signature),
            json!({"code": 9999, "msg": "验签失败"})
        );
    }
}
