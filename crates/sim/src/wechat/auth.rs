//! Verifying a merchant's request signature, as WeChat Pay does.
//!
//! `Authorization: WECHATPAY2-SHA256-RSA2048 k="v",…` with the five pairs in any order (SDKs differ);
//! the signed message is `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n` over the exact bytes
//! received; the key is the merchant public key registered for the mchid, and the serial_no must be
//! the one registered with it.

use std::collections::HashMap;

use axum::http::{HeaderMap, Method, Uri};

use super::Sim;
use super::crypto::now_unix;
use super::error::ApiError;

const SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";
/// WeChat Pay refuses requests whose timestamp is this far from its clock.
const MAX_SKEW_SECS: i64 = 300;

/// Who signed the request (the service provider's mchid in partner mode).
#[derive(Debug, Clone)]
pub struct Caller {
    pub mchid: String,
}

/// Reads the `k="v"` pairs of the header after the scheme; order does not matter.
pub fn parse_pairs(value: &str) -> Option<HashMap<String, String>> {
    let rest = value.trim().strip_prefix(SCHEME)?;
    if !rest.starts_with(' ') {
        return None;
    }
    let mut pairs = HashMap::new();
    let mut s = rest.trim_start();
    while !s.is_empty() {
        let (key, after) = s.split_once('=')?;
        let after = after.strip_prefix('"')?;
        let (val, after) = after.split_once('"')?;
        pairs.insert(key.trim().to_owned(), val.to_owned());
        s = after.trim_start();
        s = s.strip_prefix(',').unwrap_or(s).trim_start();
    }
    Some(pairs)
}

/// The mchid named in the header, before anything is verified (to pick the key that signs the
/// answer, even a refusal).
pub fn claimed_mchid(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    parse_pairs(value)?.remove("mchid")
}

/// Verifies the request; the caller's mchid on success.
pub fn verify(
    sim: &Sim,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Caller, ApiError> {
    let value = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::sign("缺少Authorization请求头"))?;
    let mut pairs =
        parse_pairs(value).ok_or_else(|| ApiError::sign("错误的签名类型或Authorization格式"))?;
    let mut take = |k: &str| {
        pairs
            .remove(k)
            .ok_or_else(|| ApiError::sign(format!("Authorization缺少{k}")))
    };
    let mchid = take("mchid")?;
    let nonce = take("nonce_str")?;
    let timestamp = take("timestamp")?;
    let serial_no = take("serial_no")?;
    let signature = take("signature")?;

    let merchant = sim
        .store
        .read(|s| s.merchants.get(&mchid).map(|m| m.serial_no.clone()));
    let Some(registered_serial) = merchant else {
        return Err(ApiError::mch_not_exists());
    };
    if !registered_serial.eq_ignore_ascii_case(&serial_no) {
        return Err(ApiError::sign(
            "商户证书序列号有误。请使用签名私钥匹配的证书序列号",
        ));
    }
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| ApiError::sign("timestamp格式错误"))?;
    if (now_unix() - ts).abs() >= MAX_SKEW_SECS {
        return Err(ApiError::sign("请求的时间戳已过期或与系统时间相差过大"));
    }
    let keys = sim.keys(&mchid).ok_or_else(ApiError::mch_not_exists)?;
    let url = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let mut message = Vec::with_capacity(body.len() + 128);
    message.extend_from_slice(format!("{method}\n{url}\n{timestamp}\n{nonce}\n").as_bytes());
    message.extend_from_slice(body);
    message.push(b'\n');
    keys.merchant_public
        .verify_base64(&message, &signature)
        .map_err(|_| ApiError::sign("签名错误，请检查后再试"))?;
    Ok(Caller { mchid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_in_any_order_and_spacing() {
        let a = parse_pairs(r#"WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",timestamp="2",serial_no="S",signature="a/b+=""#).unwrap();
        let b = parse_pairs(r#"WECHATPAY2-SHA256-RSA2048 signature="a/b+=", serial_no="S",timestamp="2", nonce_str="n",mchid="1""#).unwrap();
        assert_eq!(a, b);
        assert_eq!(a["signature"], "a/b+=");
        assert!(parse_pairs(r#"WECHATPAY2-SHA256-RSA2048mchid="1""#).is_none());
        assert!(parse_pairs(r#"OTHER mchid="1""#).is_none());
        assert!(parse_pairs(r#"WECHATPAY2-SHA256-RSA2048 mchid=1"#).is_none());
    }
}
