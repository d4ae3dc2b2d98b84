//! What every Jeepay request shares: the fields of `AbstractRQ` and `AbstractMchAppRQ`, the reading
//! of a request bean's fields from [`Params`], and a signature that must be checked before the
//! request can be used.
//!
//! Jeepay signs over the request bean's own fields, as the bean holds them: a parameter the bean
//! has no field for is not signed, and a number is signed as the number's text (`100`, whatever
//! spelling came in). Each request type therefore reads only its own fields, and the reader notes
//! every non-empty one for the signature.

use channel_core::Fen;
use url::Url;

use super::{JeepayError, sign};
use crate::Params;

/// Who sends a request and when (`AbstractRQ`, `AbstractMchAppRQ`), all kept as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub mch_no: String,
    pub app_id: String,
    /// `1.0` in every client seen; not checked, as Jeepay does not.
    pub version: String,
    /// `MD5`; not checked, as Jeepay does not.
    pub sign_type: String,
    /// Milliseconds since the epoch, as the client wrote it.
    pub req_time: String,
}

/// A well-formed request whose signature is still unchecked: the secret to check it with is that
/// of the app named in its [`Head`], which only the gateway can look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unverified<T> {
    head: Head,
    request: T,
    signed: Vec<(&'static str, String)>,
    sign: String,
}

/// A request whose signature was the app's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<T> {
    pub head: Head,
    pub request: T,
}

impl<T> Unverified<T> {
    /// Who claims to send it, to find the app's secret by.
    #[must_use]
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// The request before its signature is checked, for tests of the reading alone.
    #[cfg(test)]
    pub(super) fn unchecked(&self) -> &T {
        &self.request
    }

    /// The request, once its signature is the app's over its fields.
    ///
    /// # Errors
    /// [`JeepayError::Signature`] otherwise.
    pub fn verify(self, app_secret: &str) -> Result<Verified<T>, JeepayError> {
        if sign::verify(&self.signed, app_secret, &self.sign) {
            Ok(Verified {
                head: self.head,
                request: self.request,
            })
        } else {
            Err(JeepayError::Signature)
        }
    }
}

/// Reads one request bean's fields and notes those that are signed.
pub(super) struct Reader<'a> {
    params: &'a Params,
    signed: Vec<(&'static str, String)>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(params: &'a Params) -> Self {
        Self {
            params,
            signed: Vec::new(),
        }
    }

    /// The value that counts: the last one, as both of Jeepay's readers (form and JSON) keep.
    fn raw(&self, name: &str) -> Option<&'a str> {
        self.params
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }

    /// A text field; empty counts as absent.
    pub(super) fn text(&mut self, name: &'static str) -> Option<String> {
        let value = self.raw(name)?.to_owned();
        self.signed.push((name, value.clone()));
        Some(value)
    }

    /// A text field that must not be blank (`@NotBlank`), refused with Jeepay's `message`.
    pub(super) fn required(
        &mut self,
        name: &'static str,
        message: &'static str,
    ) -> Result<String, JeepayError> {
        self.text(name)
            .filter(|value| !is_blank(value))
            .ok_or(JeepayError::Invalid(message))
    }

    /// A whole-number field within `min..=max` (Java's `Long`, `Integer` or `Byte`), signed as the
    /// number's own text.
    pub(super) fn integer(
        &mut self,
        name: &'static str,
        min: i64,
        max: i64,
    ) -> Result<Option<i64>, JeepayError> {
        let Some(text) = self.raw(name) else {
            return Ok(None);
        };
        // Only a plain decimal integer: Jeepay would truncate `1.5` to one fen, which no client
        // means, and `+`/`-` signs are all Java's parser adds.
        let number = text
            .parse::<i64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or(JeepayError::Malformed(name))?;
        self.signed.push((name, number.to_string()));
        Ok(Some(number))
    }

    /// An amount in fen, required and at least one fen (`@NotNull @Min(1)`).
    pub(super) fn amount(
        &mut self,
        name: &'static str,
        message_when_missing: &'static str,
        message_when_below_one: &'static str,
    ) -> Result<Fen, JeepayError> {
        match self.integer(name, i64::MIN, i64::MAX)? {
            None => Err(JeepayError::Invalid(message_when_missing)),
            Some(fen) if fen < 1 => Err(JeepayError::Invalid(message_when_below_one)),
            Some(fen) => Ok(Fen(fen)),
        }
    }

    /// `currency`, required, and `cny` in any case: the only currency paygate's channels take.
    pub(super) fn currency(&mut self) -> Result<(), JeepayError> {
        let currency = self.required("currency", "货币代码不能为空")?;
        if currency.eq_ignore_ascii_case("cny") {
            Ok(())
        } else {
            Err(JeepayError::Invalid("不支持的货币代码"))
        }
    }

    /// An optional `http://` or `https://` URL (Jeepay's `StringKit.isAvailableUrl`).
    pub(super) fn url(
        &mut self,
        name: &'static str,
        message_when_not_http: &'static str,
    ) -> Result<Option<Url>, JeepayError> {
        let Some(text) = self.text(name) else {
            return Ok(None);
        };
        if !(text.starts_with("http://") || text.starts_with("https://")) {
            return Err(JeepayError::Invalid(message_when_not_http));
        }
        Url::parse(&text)
            .map(Some)
            .map_err(|_| JeepayError::Malformed(name))
    }

    /// The fields of `AbstractRQ` and `AbstractMchAppRQ`, and the signature (not itself signed).
    pub(super) fn head(&mut self) -> Result<(Head, String), JeepayError> {
        let version = self.required("version", "版本号不能为空")?;
        let sign_type = self.required("signType", "签名类型不能为空")?;
        let sign = self
            .raw("sign")
            .filter(|value| !is_blank(value))
            .ok_or(JeepayError::Invalid("签名值不能为空"))?
            .to_owned();
        let req_time = self.required("reqTime", "时间戳不能为空")?;
        let mch_no = self.required("mchNo", "商户号不能为空")?;
        let app_id = self.required("appId", "商户应用ID不能为空")?;
        let head = Head {
            mch_no,
            app_id,
            version,
            sign_type,
            req_time,
        };
        Ok((head, sign))
    }

    pub(super) fn finish<T>(self, head: Head, sign: String, request: T) -> Unverified<T> {
        Unverified {
            head,
            request,
            signed: self.signed,
            sign,
        }
    }
}

/// Java's `trim().isEmpty()`: only control characters and spaces around.
fn is_blank(value: &str) -> bool {
    value.chars().all(|c| c <= ' ')
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Parameters from literal pairs.
    pub(crate) fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// `given` with `name` set to `value` alone.
    pub(crate) fn with(mut given: Params, name: &str, value: &str) -> Params {
        given.retain(|(key, _)| key != name);
        given.push((name.to_owned(), value.to_owned()));
        given
    }

    /// `given` without `name`.
    pub(crate) fn without(mut given: Params, name: &str) -> Params {
        given.retain(|(key, _)| key != name);
        given
    }

    #[test]
    fn the_last_of_repeated_parameters_counts_and_empty_is_absent() {
        let given = params(&[("subject", "first"), ("subject", "last"), ("body", "")]);
        let mut reader = Reader::new(&given);
        assert_eq!(reader.text("subject"), Some("last".into()));
        assert_eq!(reader.text("body"), None);
        assert_eq!(reader.signed, [("subject", "last".to_owned())]);
    }

    #[test]
    fn a_number_is_signed_as_its_own_text_and_other_spellings_are_refused() {
        let given = params(&[("amount", "+100"), ("expiredTime", "1.5")]);
        let mut reader = Reader::new(&given);
        assert_eq!(reader.integer("amount", 1, 10_000), Ok(Some(100)));
        assert_eq!(reader.signed, [("amount", "100".to_owned())]);
        assert_eq!(
            reader.integer("expiredTime", 0, 100),
            Err(JeepayError::Malformed("expiredTime"))
        );
        let big = params(&[("divisionMode", "300")]);
        assert_eq!(
            Reader::new(&big).integer("divisionMode", -128, 127),
            Err(JeepayError::Malformed("divisionMode"))
        );
    }

    #[test]
    fn a_blank_required_field_is_refused_with_jeepays_text() {
        let given = params(&[("mchNo", "  ")]);
        assert_eq!(
            Reader::new(&given).required("mchNo", "商户号不能为空"),
            Err(JeepayError::Invalid("商户号不能为空"))
        );
    }
}
