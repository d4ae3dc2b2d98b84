//! WeChat Pay's field rules, each failure a `PARAM_ERROR` naming the field.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::{ApiError, ApiResult};

/// Parses a JSON body; a malformed one is WeChat's `PARAM_ERROR`.
pub fn json<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::param(format!("输入源“/body”映射到值字段失败: {e}")))
}

/// A required field, present and non-empty.
pub fn required<'a>(value: Option<&'a String>, field: &str) -> ApiResult<&'a str> {
    match value.map(String::as_str) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(ApiError::param(format!(
            "输入源“/body/{field}”映射到字段“{field}”必填性规则校验失败，此字段为必填项"
        ))),
    }
}

pub fn max_chars(value: &str, max: usize, field: &str) -> ApiResult<()> {
    if value.chars().count() > max {
        return Err(ApiError::param(format!("字段“{field}”长度超过限制{max}")));
    }
    Ok(())
}

/// out_trade_no: 6 to 32 of `0-9 A-Z a-z _ - | *`.
pub fn out_trade_no(value: &str, field: &str) -> ApiResult<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '|' | '*');
    if !(6..=32).contains(&value.len()) || !value.chars().all(ok_char) {
        return Err(ApiError::param(format!(
            "字段“{field}”格式错误：长度6-32，只能是数字、大小写字母_-|*"
        )));
    }
    Ok(())
}

/// out_refund_no: 1 to 64 of `0-9 A-Z a-z _ - | * @`.
pub fn out_refund_no(value: &str) -> ApiResult<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '|' | '*' | '@');
    if !(1..=64).contains(&value.len()) || !value.chars().all(ok_char) {
        return Err(ApiError::param(
            "字段“out_refund_no”格式错误：长度1-64，只能是数字、大小写字母_-|*@",
        ));
    }
    Ok(())
}

pub fn positive_amount(value: Option<i64>, field: &str) -> ApiResult<i64> {
    match value {
        Some(v) if v > 0 => Ok(v),
        Some(_) => Err(ApiError::param(format!("字段“{field}”必须大于0"))),
        None => Err(ApiError::param(format!("字段“{field}”为必填项"))),
    }
}

pub fn currency(value: Option<&String>, field: &str) -> ApiResult<String> {
    match value.map(String::as_str) {
        None | Some("CNY") => Ok("CNY".to_owned()),
        Some(_) => Err(ApiError::param(format!("字段“{field}”只支持CNY"))),
    }
}

/// time_expire: RFC 3339 (`2018-06-08T10:34:56+08:00`); unix seconds.
pub fn time_expire(value: Option<&String>) -> ApiResult<Option<i64>> {
    value
        .map(|v| {
            OffsetDateTime::parse(v, &Rfc3339)
                .map(OffsetDateTime::unix_timestamp)
                .map_err(|_| {
                    ApiError::param(
                        "字段“time_expire”格式错误，应为rfc3339格式，如2018-06-08T10:34:56+08:00",
                    )
                })
        })
        .transpose()
}

/// notify_url: an absolute http(s) URL without a fragment, at most 256 characters.
pub fn notify_url(value: &str, field: &str) -> ApiResult<()> {
    let bad = || ApiError::param(format!("字段“{field}”格式错误，应为http或https开头的URL"));
    let url = url::Url::parse(value).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || url.fragment().is_some()
        || value.len() > 256
    {
        return Err(bad());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_trade_no_rules() {
        assert!(out_trade_no("abc_12-3*|", "out_trade_no").is_ok());
        assert!(out_trade_no("12345", "out_trade_no").is_err());
        assert!(out_trade_no(&"1".repeat(33), "out_trade_no").is_err());
        assert!(out_trade_no("abc def", "out_trade_no").is_err());
        assert!(out_trade_no("订单123456", "out_trade_no").is_err());
    }

    #[test]
    fn times_and_urls() {
        assert!(
            time_expire(Some(&"2018-06-08T10:34:56+08:00".to_owned()))
                .unwrap()
                .is_some()
        );
        assert!(time_expire(Some(&"2018-06-08 10:34:56".to_owned())).is_err());
        assert!(notify_url("https://example.com/notify", "notify_url").is_ok());
        assert!(notify_url("ftp://example.com/notify", "notify_url").is_err());
        assert!(notify_url("not a url", "notify_url").is_err());
    }
}
