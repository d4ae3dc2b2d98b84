//! Alipay's wire conventions, written for the server side independently of the `alipay` client
//! crate (a shared bug would make both sides agree on something Alipay does not do).

use channel_core::{Fen, RsaPrivateKey};
use serde_json::Value;
use time::macros::{format_description, offset};
use time::{OffsetDateTime, PrimitiveDateTime};

/// The text Alipay signs: pairs with a non-empty value, minus `sign` (and `sign_type` where the
/// caller leaves it out), sorted by key, `k=v` joined with `&`, nothing escaped.
pub fn sign_text(params: &[(String, String)], include_sign_type: bool) -> String {
    let mut kept: Vec<&(String, String)> = params
        .iter()
        .filter(|(k, v)| !v.is_empty() && k != "sign" && (include_sign_type || k != "sign_type"))
        .collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    kept.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// `yyyy-MM-dd HH:mm:ss` in China time, for unix milliseconds.
pub fn china_time(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset!(+8));
    t.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second]"
    ))
    .unwrap_or_default()
}

/// `yyyy-MM-dd` in China time.
pub fn china_date(ms: i64) -> String {
    china_time(ms).chars().take(10).collect()
}

/// Parses a China-time `yyyy-MM-dd HH:mm:ss` into unix milliseconds.
pub fn parse_china_time(s: &str) -> Option<i64> {
    let t = PrimitiveDateTime::parse(
        s,
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
    )
    .ok()?;
    i64::try_from(t.assume_offset(offset!(+8)).unix_timestamp_nanos() / 1_000_000).ok()
}

pub fn yuan(fen: i64) -> String {
    Fen(fen).to_yuan_string()
}

/// A JSON object written in the order its members were added, as Alipay's answers are.
#[derive(Debug, Default, Clone)]
pub struct Obj(Vec<(String, Value)>);

impl Obj {
    pub fn success() -> Self {
        Self::default().with("code", "10000").with("msg", "Success")
    }

    pub fn with(mut self, k: &str, v: impl Into<Value>) -> Self {
        self.0.push((k.to_owned(), v.into()));
        self
    }

    pub fn with_opt(self, k: &str, v: Option<impl Into<Value>>) -> Self {
        match v {
            Some(v) => self.with(k, v),
            None => self,
        }
    }

    pub fn to_json(&self) -> String {
        let members: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), v))
            .collect();
        format!("{{{}}}", members.join(","))
    }
}

/// An Alipay answer: `{"<method>_response":{…},"sign":"…"}`, the signature over the object's exact
/// text; unsigned (no `sign` member) when there is no key to sign with.
pub fn envelope(response_key: &str, obj: &Obj, key: Option<&RsaPrivateKey>) -> String {
    let inner = obj.to_json();
    let name = Value::from(response_key);
    match key {
        Some(key) => {
            let sign = Value::from(key.sign_base64(inner.as_bytes()));
            format!("{{{name}:{inner},\"sign\":{sign}}}")
        }
        None => format!("{{{name}:{inner}}}"),
    }
}

/// `alipay.trade.query` → `alipay_trade_query_response`.
pub fn response_key(method: &str) -> String {
    format!("{}_response", method.replace('.', "_"))
}

/// A refusal in Alipay's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub msg: &'static str,
    pub sub_code: &'static str,
    pub sub_msg: String,
}

impl Refusal {
    /// 40004 Business Failed with an `ACQ.*` (or other) sub-code.
    pub fn business(sub_code: &'static str, sub_msg: impl Into<String>) -> Self {
        Self {
            code: "40004",
            msg: "Business Failed",
            sub_code,
            sub_msg: sub_msg.into(),
        }
    }

    /// 40002 Invalid Arguments (signature, app id, method, common parameters).
    pub fn invalid(sub_code: &'static str, sub_msg: impl Into<String>) -> Self {
        Self {
            code: "40002",
            msg: "Invalid Arguments",
            sub_code,
            sub_msg: sub_msg.into(),
        }
    }

    /// 20000 Service Currently Unavailable.
    pub fn unavailable() -> Self {
        Self {
            code: "20000",
            msg: "Service Currently Unavailable",
            sub_code: "isp.unknow-error",
            sub_msg: "系统繁忙".into(),
        }
    }

    pub fn not_exist() -> Self {
        Self::business("ACQ.TRADE_NOT_EXIST", "交易不存在")
    }

    pub fn invalid_parameter(what: impl std::fmt::Display) -> Self {
        Self::business("ACQ.INVALID_PARAMETER", format!("参数无效: {what}"))
    }

    pub fn to_obj(&self) -> Obj {
        Obj::default()
            .with("code", self.code)
            .with("msg", self.msg)
            .with("sub_code", self.sub_code)
            .with("sub_msg", self.sub_msg.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_text_rules() {
        let p = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let params = [
            p("b", "2"),
            p("sign", "x"),
            p("a", "1"),
            p("sign_type", "RSA2"),
            p("c", ""),
        ];
        assert_eq!(sign_text(&params, true), "a=1&b=2&sign_type=RSA2");
        assert_eq!(sign_text(&params, false), "a=1&b=2");
    }

    #[test]
    fn objects_keep_order_and_times_are_china_time() {
        let o = Obj::success()
            .with("qr_code", "https://x/\"q\"")
            .with("n", 1);
        assert_eq!(
            o.to_json(),
            r#"{"code":"10000","msg":"Success","qr_code":"https://x/\"q\"","n":1}"#
        );
        assert_eq!(china_time(0), "1970-01-01 08:00:00");
        assert_eq!(parse_china_time("1970-01-01 08:00:01"), Some(1000));
    }
}
