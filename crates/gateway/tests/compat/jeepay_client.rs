//! A Jeepay client as COMPAT.md §3 describes Jeepay's SDK and server: every non-empty `k=v&` entry
//! but `sign` (so `signType`, `version` and `reqTime` too), sorted without regard to case, then
//! `key=SECRET`, MD5 in uppercase; answers verified over the fields of `data`, notifications over
//! every field received but `sign`.

use md5::{Digest, Md5};
use serde_json::Value;

/// The signature over `fields` with the app's secret.
pub fn sign(fields: &[(&str, &str)], secret: &str) -> String {
    let mut entries: Vec<String> = fields
        .iter()
        .filter(|(k, v)| *k != "sign" && !v.is_empty())
        .map(|(k, v)| format!("{k}={v}&"))
        .collect();
    // Java's CASE_INSENSITIVE_ORDER, for the ASCII names Jeepay uses.
    entries.sort_by_key(|entry| entry.to_ascii_lowercase());
    hex::encode_upper(Md5::digest(format!("{}key={secret}", entries.concat())))
}

/// A request from the app `mch_no`/`app_id`: `fields` with the common ones and the signature.
pub fn signed(
    mch_no: &str,
    app_id: &str,
    secret: &str,
    fields: &[(&str, &str)],
) -> Vec<(String, String)> {
    let req_time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    let mut all: Vec<(&str, &str)> = vec![
        ("mchNo", mch_no),
        ("appId", app_id),
        ("version", "1.0"),
        ("signType", "MD5"),
        ("reqTime", &req_time),
    ];
    all.extend_from_slice(fields);
    let sign = sign(&all, secret);
    all.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .chain([("sign".to_owned(), sign)])
        .collect()
}

/// The JSON body the SDK posts: the amounts as numbers, everything else as strings.
pub fn json_body(fields: &[(String, String)]) -> Value {
    let members = fields.iter().map(|(k, v)| {
        let numeric = ["amount", "refundAmount", "expiredTime"].contains(&k.as_str());
        let value = match v.parse::<i64>() {
            Ok(n) if numeric => Value::from(n),
            _ => Value::from(v.as_str()),
        };
        (k.clone(), value)
    });
    Value::Object(members.collect())
}

/// Whether an answer's `sign` is the app's over its `data`, as `ApiRes.okWithSign` makes it.
pub fn verify_answer(answer: &Value, secret: &str) -> bool {
    let Some(data) = answer["data"].as_object() else {
        return false;
    };
    let texts: Vec<(String, String)> = data
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect();
    let fields: Vec<(&str, &str)> = texts
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    answer["sign"]
        .as_str()
        .is_some_and(|given| given.eq_ignore_ascii_case(&sign(&fields, secret)))
}

/// Whether a notification's `sign` is the app's over every other field received, except those of
/// the merchant's own query on its `notifyUrl`: Jeepay signs its fields, then appends them to that
/// URL and posts the whole query as the form, so the merchant's own come unsigned.
pub fn verify_notice(received: &[(String, String)], own_query: &[&str], secret: &str) -> bool {
    let fields: Vec<(&str, &str)> = received
        .iter()
        .filter(|(k, _)| !own_query.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let given = received.iter().find(|(k, _)| k == "sign").map(|(_, v)| v);
    given.is_some_and(|given| given.eq_ignore_ascii_case(&sign(&fields, secret)))
}

#[test]
fn entries_sort_without_case_and_the_key_comes_last() {
    // python3 -c "import hashlib; print(hashlib.md5(b'amount=1&appId=60cc09bce4b0f1c0b83761c9&Body=goods&mchNo=M1621873433953&reqTime=1622016572190&key=SECRET').hexdigest().upper())"
    let fields = [
        ("mchNo", "M1621873433953"),
        ("appId", "60cc09bce4b0f1c0b83761c9"),
        ("amount", "1"),
        ("Body", "goods"),
        ("reqTime", "1622016572190"),
        ("clientIp", ""),
    ];
    assert_eq!(sign(&fields, "SECRET"), "FABA082B66BEA5060B977EAF0B2EC614");
}
