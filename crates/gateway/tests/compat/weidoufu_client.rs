//! A weidoufu client as COMPAT.md §2 describes the one found (MyDotnet): a JSON body whose sign is
//! `UPPER(MD5(k=v&… in ASCII key order, empty values left out, then &secret_key=SECRET))`, and a
//! notification `{"sign","content":{…}}` checked as `UPPER(MD5(lowerhex(HMAC-SHA256(secret_key,
//! content re-serialised in its declared field order))))`.

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;

/// The text a field is signed as: a string as it is, a number as its digits.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The sign of `fields`.
pub fn sign(fields: &[(&str, Value)], secret_key: &str) -> String {
    let mut signed: Vec<(&str, String)> = fields
        .iter()
        .filter(|(k, _)| *k != "sign")
        .map(|(k, v)| (*k, text_of(v)))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    signed.sort_by(|a, b| a.0.cmp(b.0));
    let mut text = signed
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    text.push_str(&format!("&secret_key={secret_key}"));
    hex::encode_upper(Md5::digest(text.as_bytes()))
}

/// The JSON body of `fields` with their `sign`.
pub fn signed_body(fields: &[(&str, Value)], secret_key: &str) -> Value {
    let mut body: Map<String, Value> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    body.insert("sign".to_owned(), Value::String(sign(fields, secret_key)));
    Value::Object(body)
}

/// `content`, with the client's field order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NoticeContent {
    pub mch_trade_no: String,
    pub out_order_no: String,
    pub transaction_id: String,
    pub total_fee: i64,
    pub attach: String,
    pub trade_type: i64,
    pub pay_type: i64,
    pub bank_type: String,
    pub pay_time: String,
    pub status: i64,
    pub nonce_str: String,
}

#[derive(Deserialize)]
struct Envelope {
    sign: String,
    content: NoticeContent,
}

/// The notification's content, if its sign holds under `secret_key`.
pub fn verify_notice(body: &[u8], secret_key: &str) -> Option<NoticeContent> {
    let envelope: Envelope = serde_json::from_slice(body).ok()?;
    let content = serde_json::to_string(&envelope.content).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()).ok()?;
    mac.update(content.as_bytes());
    let hmac_hex = hex::encode(mac.finalize().into_bytes());
    let expected = hex::encode_upper(Md5::digest(hmac_hex.as_bytes()));
    (envelope.sign == expected).then_some(envelope.content)
}

#[test]
fn the_six_fields_the_client_signs_give_its_sign() {
    // Computed outside this code: hashlib.md5("access_key=AK0123456789&body=测试商品
    // &notify_url=https://shop.example.com/notify&out_order_no=202405010000000001&pay_type=1
    // &total_fee=100&secret_key=SK-secret".encode()).hexdigest().upper()
    let fields = [
        ("access_key", Value::from("AK0123456789")),
        ("body", Value::from("测试商品")),
        ("out_order_no", Value::from("202405010000000001")),
        ("pay_type", Value::from(1)),
        ("total_fee", Value::from(100)),
        ("notify_url", Value::from("https://shop.example.com/notify")),
    ];
    assert_eq!(
        sign(&fields, "SK-secret"),
        "817C0807050A831A61E46774B828B900"
    );
}
