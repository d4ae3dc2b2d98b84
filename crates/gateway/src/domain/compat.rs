//! The other payment protocols a site may speak to paygate (易支付 EPay V1, weidoufu, Jeepay): a
//! site's keys for one of them, and what an order made through one remembers of it, so that its
//! notifications are rendered and signed the way that protocol's clients verify them.

use std::collections::BTreeMap;

use super::token::random_with_prefix;
use super::{DomainError, OrderId, SiteId, Timestamp};

/// A protocol other than paygate's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Epay,
    Weidoufu,
    Jeepay,
}

impl Protocol {
    pub const ALL: [Self; 3] = [Self::Epay, Self::Weidoufu, Self::Jeepay];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Epay => "epay",
            Self::Weidoufu => "weidoufu",
            Self::Jeepay => "jeepay",
        }
    }

    /// # Errors
    /// `Malformed` for a name that is none of them.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or(DomainError::Malformed { field: "protocol" })
    }

    /// Fresh identifiers in the protocol's own shape: EPay's numeric `pid`, weidoufu's 32-character
    /// `access_key`, Jeepay's `mchNo` and `appId`. Unique by chance; the store refuses a collision.
    #[must_use]
    pub fn generate_ids(self) -> (String, Option<String>) {
        match self {
            Self::Epay => (random_digits(8), None),
            Self::Weidoufu => (channel_core::nonce::alphanumeric(32), None),
            Self::Jeepay => (format!("M{}", random_digits(10)), Some(random_hex(24))),
        }
    }

    /// A fresh key: 32 letters or digits (EPay, weidoufu), 128 for Jeepay's app secret. The
    /// protocols' MD5 signatures are weak; the key at least is not guessable.
    #[must_use]
    pub fn generate_secret(self) -> CompatSecret {
        let len = match self {
            Self::Epay | Self::Weidoufu => 32,
            Self::Jeepay => 128,
        };
        CompatSecret(random_with_prefix("", len))
    }
}

/// `len` random bytes, each mapped into `radix` symbols (the small bias of `% 10` does not matter
/// for an identifier, which only has to be unpredictable and rarely collide).
fn random_symbols(len: usize, radix: u8) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    channel_core::nonce::fill(&mut bytes);
    bytes.into_iter().map(|b| b % radix).collect()
}

/// `len` decimal digits, the first not 0.
fn random_digits(len: usize) -> String {
    random_symbols(len, 10)
        .into_iter()
        .enumerate()
        .map(|(i, d)| char::from(b'0' + if i == 0 { d % 9 + 1 } else { d }))
        .collect()
}

fn random_hex(len: usize) -> String {
    random_symbols(len, 16)
        .into_iter()
        .map(|d| char::from(b"0123456789abcdef"[usize::from(d)]))
        .collect()
}

/// A protocol key (EPay's merchant key, weidoufu's secret key, Jeepay's app secret). Never printed:
/// `Debug` hides it; [`CompatSecret::expose`] is the one way out.
#[derive(Clone, PartialEq, Eq)]
pub struct CompatSecret(String);

impl CompatSecret {
    /// For a value opened from the store.
    #[must_use]
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for CompatSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CompatSecret(<redacted>)")
    }
}

/// A site's credentials for one protocol, separate from its AK/SK: a leaked MD5 key must not expose
/// the HMAC one, nor the other way round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompatKey {
    pub site_id: SiteId,
    pub protocol: Protocol,
    /// EPay's `pid`, weidoufu's `access_key`, Jeepay's `mchNo`.
    pub key_id: String,
    /// Jeepay's `appId`.
    pub app_id: Option<String>,
    pub secret: CompatSecret,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What an order made through another protocol remembers of it: the protocol, and the fields of
/// the request that paygate's own order has no place for but its notification needs (EPay's
/// merchant `return_url`, Jeepay's `wayCode`…). Part of the order's fingerprint: a retry that
/// changes one of them is another order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub protocol: Protocol,
    pub data: BTreeMap<String, String>,
}

impl Origin {
    #[must_use]
    pub fn new(protocol: Protocol) -> Self {
        Self {
            protocol,
            data: BTreeMap::new(),
        }
    }

    /// With `key` set to `value`, when there is one.
    #[must_use]
    pub fn with(mut self, key: &str, value: Option<&str>) -> Self {
        if let Some(v) = value {
            self.data.insert(key.to_owned(), v.to_owned());
        }
        self
    }

    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).map(String::as_str)
    }

    /// The stored form of [`Origin::data`]: a JSON object of strings.
    #[must_use]
    pub fn data_json(&self) -> String {
        serde_json::to_string(&self.data).unwrap_or_else(|_| "{}".to_owned())
    }

    /// # Errors
    /// `Malformed` for an unknown protocol or data that is not a JSON object of strings.
    pub fn from_stored(protocol: &str, data: Option<&str>) -> Result<Self, DomainError> {
        let data = match data {
            Some(text) => serde_json::from_str(text).map_err(|_| DomainError::Malformed {
                field: "protocol_data",
            })?,
            None => BTreeMap::new(),
        };
        Ok(Self {
            protocol: Protocol::parse(protocol)?,
            data,
        })
    }

    /// What it adds to the order's fingerprint.
    pub(crate) fn fingerprint_fields(&self) -> impl Iterator<Item = (&str, String)> {
        std::iter::once(("protocol", self.protocol.as_str().to_owned())).chain(
            self.data
                .iter()
                .flat_map(|(k, v)| [("data_key", k.clone()), ("data_value", v.clone())]),
        )
    }
}

/// The number the other protocols know an order by (EPay's `trade_no`, Jeepay's `payOrderId`,
/// weidoufu's `mch_trade_no`): its creation day in China and its row id, 19 digits like EPay's own.
/// Unlike the upstream number, it never changes (a channel-neutral order's does once paid), and it
/// reads back to the order without a column of its own.
#[must_use]
pub fn compat_trade_no(order: OrderId, created_at: Timestamp) -> String {
    let day: String = created_at
        .to_china_time()
        .chars()
        .filter(char::is_ascii_digit)
        .take(8)
        .collect();
    format!("{day}{:011}", order.as_i64())
}

/// The order a [`compat_trade_no`] names, if it is one: the caller still checks that the order is
/// the asking site's and that its creation day matches.
#[must_use]
pub fn order_of_compat_trade_no(no: &str) -> Option<OrderId> {
    if no.len() != 19 || !no.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    no[8..].parse().ok().map(OrderId::from_i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_identifiers_have_each_protocols_shape() {
        for _ in 0..50 {
            let (pid, none) = Protocol::Epay.generate_ids();
            assert_eq!((pid.len(), none), (8, None));
            assert!(pid.parse::<i64>().unwrap() >= 10_000_000, "{pid}");
            let (mch, app) = Protocol::Jeepay.generate_ids();
            assert!(mch.starts_with('M') && mch.len() == 11, "{mch}");
            assert!(app.unwrap().bytes().all(|b| b.is_ascii_hexdigit()));
        }
        assert_eq!(Protocol::Jeepay.generate_secret().expose().len(), 128);
        assert_eq!(
            format!("{:?}", Protocol::Epay.generate_secret()),
            "CompatSecret(<redacted>)"
        );
    }

    #[test]
    fn a_compat_trade_number_reads_back_to_its_order() {
        let at = Timestamp::from_millis(1_706_601_234_567);
        let no = compat_trade_no(OrderId::from_i64(42), at);
        assert_eq!(no, "2024013000000000042");
        assert_eq!(order_of_compat_trade_no(&no), Some(OrderId::from_i64(42)));
        for bad in ["", "42", "2024013000000000042x", "20240130abcdefghijk"] {
            assert_eq!(order_of_compat_trade_no(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_origin_is_stored_and_read_back_and_refuses_what_it_did_not_write() {
        let o = Origin::new(Protocol::Epay)
            .with("return_url", Some("https://a.example/r"))
            .with("x", None);
        let back = Origin::from_stored("epay", Some(&o.data_json())).unwrap();
        assert_eq!(back, o);
        assert!(Origin::from_stored("paypal", None).is_err());
        assert!(Origin::from_stored("epay", Some("[1]")).is_err());
    }
}
