//! Reading request bodies at the edge: a JSON object whose fields are checked one by one, so that
//! a wrong type is reported with the field's own code (`"amount_total": 29.9` is `invalid_amount`,
//! not a generic JSON error) and absent fields are reported together as seed 000's `missing_fields`.

use serde_json::{Map, Value};

use super::error::ApiError;
use crate::domain::{
    Amount, Attach, Currency, Description, DomainError, ExpireMinutes, NotifyUrl, OutTradeNo,
};

/// The body's top-level object.
pub struct Fields(Map<String, Value>);

impl Fields {
    /// # Errors
    /// `InvalidJson` unless the body is one JSON object.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(ApiError::InvalidJson("expected a JSON object".to_owned())),
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

    pub fn out_trade_no(&self) -> Result<OutTradeNo, DomainError> {
        let s = self.str("out_trade_no", DomainError::InvalidOutTradeNo)?;
        OutTradeNo::parse(s.unwrap_or_default())
    }

    pub fn amount(&self) -> Result<Amount, DomainError> {
        let bad = DomainError::InvalidAmount {
            max: Amount::MAX_FEN,
        };
        match self.int("amount_total", bad.clone())? {
            Some(fen) => Amount::parse(fen),
            None => Err(DomainError::Missing {
                field: "amount_total",
            }),
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
}
