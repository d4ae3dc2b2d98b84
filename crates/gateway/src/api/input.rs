//! Reading request bodies at the edge: a JSON object whose fields are checked one by one, so that
//! a wrong type is reported with the field's own code (`"amount_total": 29.9` is `invalid_amount`,
//! not a generic JSON error) and absent fields are reported together as seed 000's `missing_fields`.
//!
//! A key given twice in one object is refused (`duplicate_key`) rather than left to the parser:
//! `serde_json` keeps the last one, another reader (a proxy, the site's own logs, an audit tool)
//! may keep the first, and the signature covers both, so `"amount_total":1,"amount_total":500`
//! would mean different amounts to different readers of the same signed request.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::error::Category;
use serde_json::{Map, Number, Value};

use super::error::ApiError;
use crate::domain::{
    Amount, Attach, Currency, Description, DomainError, ExpireMinutes, NotifyUrl, OutRefundNo,
    OutTradeNo, RefundReason, ReturnUrl,
};

/// The body's top-level object.
pub struct Fields(Map<String, Value>);

impl Fields {
    /// # Errors
    /// `InvalidJson` unless the body is one JSON object; `DuplicateKey` when an object in it, at
    /// any depth, has a key twice.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        match serde_json::from_slice::<UniqueKeys>(body) {
            Ok(UniqueKeys(Value::Object(map))) => Ok(Self(map)),
            Ok(_) => Err(ApiError::InvalidJson("expected a JSON object".to_owned())),
            // The visitor accepts every JSON value, so its only data error is a repeated key.
            Err(e) if e.classify() == Category::Data => Err(ApiError::DuplicateKey(e.to_string())),
            Err(e) => Err(ApiError::InvalidJson(e.to_string())),
        }
    }

    /// A nested object (`payer`); absent or null is an empty one.
    ///
    /// # Errors
    /// `Malformed` when present but not an object.
    pub fn object(&self, name: &'static str) -> Result<Self, DomainError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(Self(Map::new())),
            Some(Value::Object(map)) => Ok(Self(map.clone())),
            Some(_) => Err(DomainError::Malformed { field: name }),
        }
    }

    /// An array of objects (a combined order's `sub_orders`, a split's `receivers`); absent or null
    /// is an empty one.
    ///
    /// # Errors
    /// `Malformed` when present but not an array of objects.
    pub fn objects(&self, name: &'static str) -> Result<Vec<Self>, DomainError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::Object(map) => Ok(Self(map.clone())),
                    _ => Err(DomainError::Malformed { field: name }),
                })
                .collect(),
            Some(_) => Err(DomainError::Malformed { field: name }),
        }
    }

    /// Seed 000 counts absent, `null` and `""` alike as missing.
    fn is_missing(&self, name: &str) -> bool {
        match self.0.get(name) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(_) => false,
        }
    }

    /// # Errors
    /// `MissingFields` naming every one of `names` that is missing, in the order given.
    pub fn require(&self, names: &[&'static str]) -> Result<(), ApiError> {
        let missing: Vec<_> = names
            .iter()
            .copied()
            .filter(|n| self.is_missing(n))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ApiError::MissingFields(missing))
        }
    }

    /// A string field; `None` when missing. Another JSON type is `wrong_type`.
    ///
    /// # Errors
    /// `wrong_type`.
    pub fn str(&self, name: &str, wrong_type: DomainError) -> Result<Option<&str>, DomainError> {
        if self.is_missing(name) {
            return Ok(None);
        }
        match self.0.get(name) {
            Some(Value::String(s)) => Ok(Some(s)),
            _ => Err(wrong_type),
        }
    }

    /// An integer field; `None` when missing. A float (`29.9`, even `2990.0`), a string or a
    /// number beyond `i64` is `wrong_type`.
    fn int(&self, name: &str, wrong_type: DomainError) -> Result<Option<i64>, DomainError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => n.as_i64().map(Some).ok_or(wrong_type),
            Some(_) => Err(wrong_type),
        }
    }

    /// A string field read as `field` in errors: `Missing` when missing, `Malformed` when not a
    /// string.
    ///
    /// # Errors
    /// `Missing`, `Malformed`.
    pub fn text_as(&self, key: &str, field: &'static str) -> Result<&str, DomainError> {
        self.str(key, DomainError::Malformed { field })?
            .ok_or(DomainError::Missing { field })
    }

    /// An amount in fen read as `field` in errors (`receivers.amount`).
    ///
    /// # Errors
    /// `Missing`, `InvalidAmount`.
    pub fn amount_as(&self, key: &str, field: &'static str) -> Result<Amount, DomainError> {
        let bad = DomainError::InvalidAmount {
            field,
            max: Amount::MAX_FEN,
        };
        match self.int(key, bad.clone())? {
            Some(fen) => Amount::parse(fen).map_err(|_| bad),
            None => Err(DomainError::Missing { field }),
        }
    }

    /// A boolean field; `false` when missing. Another JSON type is `Malformed` naming it.
    ///
    /// # Errors
    /// `Malformed`.
    pub fn flag(&self, name: &'static str) -> Result<bool, DomainError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(DomainError::Malformed { field: name }),
        }
    }

    pub fn out_trade_no(&self) -> Result<OutTradeNo, DomainError> {
        let s = self.str("out_trade_no", DomainError::InvalidOutTradeNo)?;
        OutTradeNo::parse(s.unwrap_or_default())
    }

    pub fn amount(&self) -> Result<Amount, DomainError> {
        self.amount_named("amount_total")
    }

    /// A refund's `amount`: fen, as an order's `amount_total`, and refused naming its own field.
    pub fn refund_amount(&self) -> Result<Amount, DomainError> {
        self.amount_named("amount")
    }

    fn amount_named(&self, field: &'static str) -> Result<Amount, DomainError> {
        let bad = DomainError::InvalidAmount {
            field,
            max: Amount::MAX_FEN,
        };
        match self.int(field, bad.clone())? {
            Some(fen) => Amount::parse(fen).map_err(|_| bad),
            None => Err(DomainError::Missing { field }),
        }
    }

    pub fn out_refund_no(&self) -> Result<OutRefundNo, DomainError> {
        let s = self.str(
            "out_refund_no",
            DomainError::Malformed {
                field: "out_refund_no",
            },
        )?;
        OutRefundNo::parse(s.unwrap_or_default())
    }

    pub fn reason(&self) -> Result<Option<RefundReason>, DomainError> {
        let bad = DomainError::Malformed { field: "reason" };
        match self.0.get("reason") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => RefundReason::parse(s).map(Some),
            Some(_) => Err(bad),
        }
    }

    /// Defaults to CNY when absent (seed 000).
    pub fn currency(&self) -> Result<Currency, DomainError> {
        match self.0.get("currency") {
            None | Some(Value::Null) => Ok(Currency::default()),
            Some(Value::String(s)) => Currency::parse(s),
            Some(_) => Err(DomainError::InvalidCurrency),
        }
    }

    pub fn description(&self) -> Result<Description, DomainError> {
        let s = self.str(
            "description",
            DomainError::Malformed {
                field: "description",
            },
        )?;
        Description::parse(s.unwrap_or_default())
    }

    /// Defaults to 15 minutes when absent (seed 000).
    pub fn expire_minutes(&self) -> Result<ExpireMinutes, DomainError> {
        let bad = DomainError::InvalidExpireMinutes {
            min: ExpireMinutes::MIN,
            max: ExpireMinutes::MAX,
        };
        match self.int("expire_minutes", bad)? {
            Some(m) => ExpireMinutes::parse(m),
            None => Ok(ExpireMinutes::default()),
        }
    }

    pub fn attach(&self) -> Result<Option<Attach>, DomainError> {
        let bad = DomainError::InvalidAttach {
            max: Attach::MAX_CHARS,
        };
        match self.0.get("attach") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Attach::parse(s).map(Some),
            Some(_) => Err(bad),
        }
    }

    pub fn notify_url(&self) -> Result<Option<NotifyUrl>, DomainError> {
        let bad = DomainError::InvalidUrl {
            field: "notify_url",
            max: NotifyUrl::MAX_LEN,
        };
        match self.str("notify_url", bad)? {
            Some(s) => NotifyUrl::parse(s).map(Some),
            None => Ok(None),
        }
    }

    pub fn return_url(&self) -> Result<Option<ReturnUrl>, DomainError> {
        let bad = DomainError::InvalidUrl {
            field: "return_url",
            max: NotifyUrl::MAX_LEN,
        };
        match self.str("return_url", bad)? {
            Some(s) => ReturnUrl::parse(s).map(Some),
            None => Ok(None),
        }
    }
}

/// A JSON value whose objects, at every depth, have no key twice.
struct UniqueKeys(Value);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeysVisitor).map(Self)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        // JSON text has no NaN or infinity; `Null` is what `serde_json::Value` would make of one.
        Ok(Number::from_f64(n).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
            }
            let UniqueKeys(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Fields, ApiError> {
        Fields::parse(body.as_bytes())
    }

    #[test]
    fn a_key_given_twice_is_refused_at_any_depth() {
        for body in [
            r#"{"amount_total":1,"amount_total":500}"#,
            r#"{"payer":{"openid":"a","openid":"b"}}"#,
            r#"{"x":[{"k":1},{"k":1,"k":2}]}"#,
            r#"{"a":{"b":{"c":{"d":1,"d":1}}}}"#,
            // The same key after JSON escapes are decoded.
            r#"{"amount_total":1,"amount\u005ftotal":500}"#,
        ] {
            let err = parse(body).err().map(|e| e.code().as_str());
            assert_eq!(err, Some("duplicate_key"), "{body}");
        }
    }

    #[test]
    fn the_same_key_in_different_objects_is_fine() {
        let f = parse(r#"{"k":1,"payer":{"k":2},"list":[{"k":3},{"k":4}],"amount_total":5}"#);
        assert_eq!(f.unwrap().amount().unwrap().fen().0, 5);
    }

    #[test]
    fn values_parse_as_serde_json_parses_them() {
        let body = r#"{"i":-3,"u":18446744073709551615,"f":29.9,"s":"月\n","b":true,"n":null,"a":[1,[2]],"o":{}}"#;
        let expected: Value = serde_json::from_str(body).unwrap();
        assert_eq!(Value::Object(parse(body).unwrap().0), expected);
    }

    #[test]
    fn broken_json_is_still_invalid_json() {
        for body in [r#"{"a":1"#, "[1,2]", r#"{"a":1e999}"#, ""] {
            let err = parse(body).err().map(|e| e.code().as_str());
            assert_eq!(err, Some("invalid_json"), "{body}");
        }
    }
}
