//! A Jeepay request's parameters, read as Jeepay's `RequestKitBean` reads them: a JSON object's
//! members when the body is `application/json`, otherwise the query's then the form body's (the
//! last of a repeated name counts, so the body's wins).

use axum::body::Bytes;
use axum::http::{HeaderMap, Uri, header};
use compat::Params;
use compat::jeepay::JeepayError;
use serde_json::Value;

/// # Errors
/// `Unreadable` for a JSON body that is not an object.
pub(super) fn read(headers: &HeaderMap, uri: &Uri, body: &Bytes) -> Result<Params, JeepayError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.to_ascii_lowercase().contains("application/json"));
    if is_json {
        return from_json(body);
    }
    let query = uri.query().unwrap_or_default().as_bytes();
    Ok(url::form_urlencoded::parse(query)
        .chain(url::form_urlencoded::parse(body))
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect())
}

/// Each member as the text Jeepay's bean would hold: a string as it is, a number or boolean as
/// written, an object or array as its JSON text (how fastjson fills a string field such as
/// `channelExtra` sent as an object); `null` as absent.
fn from_json(body: &[u8]) -> Result<Params, JeepayError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Params::new());
    }
    let Ok(Value::Object(members)) = serde_json::from_slice::<Value>(body) else {
        return Err(JeepayError::Unreadable);
    };
    Ok(members
        .into_iter()
        .filter_map(|(name, value)| {
            let text = match value {
                Value::Null => return None,
                Value::String(s) => s,
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                nested @ (Value::Array(_) | Value::Object(_)) => nested.to_string(),
            };
            Some((name, text))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        h
    }

    #[test]
    fn a_json_body_gives_each_member_as_text() {
        let body = Bytes::from_static(
            br#"{"amount":100,"subject":"Goods","channelExtra":{"openid":"o-1"},"extParam":null}"#,
        );
        let uri: Uri = "/api/pay/unifiedOrder?amount=1".parse().unwrap();
        let mut params = read(&headers("application/json; charset=utf-8"), &uri, &body).unwrap();
        params.sort();
        let expected = [
            ("amount", "100"),
            ("channelExtra", r#"{"openid":"o-1"}"#),
            ("subject", "Goods"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(params, expected, "the query is not read with a JSON body");
        for unreadable in [&b"[1]"[..], b"{", b"\"text\""] {
            let body = Bytes::copy_from_slice(unreadable);
            assert_eq!(
                read(&headers("application/json"), &uri, &body),
                Err(JeepayError::Unreadable)
            );
        }
    }

    #[test]
    fn a_form_follows_the_query_so_its_values_count() {
        let uri: Uri = "/api/pay/query?mchNo=M0&appId=a".parse().unwrap();
        let body = Bytes::from_static(b"mchNo=M1&subject=%E5%95%86%E5%93%81");
        let params = read(&headers("application/x-www-form-urlencoded"), &uri, &body).unwrap();
        let last = |name: &str| {
            params
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(last("mchNo"), Some("M1"));
        assert_eq!(last("appId"), Some("a"));
        assert_eq!(last("subject"), Some("商品"));
    }
}
