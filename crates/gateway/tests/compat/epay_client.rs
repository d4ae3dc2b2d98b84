//! An EPay V1 client as COMPAT.md §1.1 and §1.7 describe the ones in use: new-api's go-epay (a form
//! POST, money as `10.00`, empty values not signed) and v2board's (a GET redirect, money as `10.5`,
//! empty values signed).

use md5::{Digest, Md5};

/// Which rule for empty values the client signs with.
#[derive(Debug, Clone, Copy)]
pub enum Empties {
    /// go-epay, and the server: left out.
    Skipped,
    /// v2board: `k=` kept.
    Signed,
}

/// `md5(k=v&… sorted by key, without sign/sign_type + KEY)`, lowercase.
pub fn sign(fields: &[(&str, &str)], key: &str, empties: Empties) -> String {
    let mut signed: Vec<&(&str, &str)> = fields
        .iter()
        .filter(|(k, v)| {
            *k != "sign"
                && *k != "sign_type"
                && (matches!(empties, Empties::Signed) || !v.is_empty())
        })
        .collect();
    signed.sort_by(|a, b| a.0.cmp(b.0));
    let text = signed
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    hex::encode(Md5::digest(format!("{text}{key}").as_bytes()))
}

/// `fields` with `sign` and `sign_type=MD5` added.
pub fn signed(fields: &[(&str, &str)], key: &str, empties: Empties) -> Vec<(String, String)> {
    let sign = sign(fields, key, empties);
    fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .chain([
            ("sign".to_owned(), sign),
            ("sign_type".to_owned(), "MD5".to_owned()),
        ])
        .collect()
}

/// As go-epay and v2board verify a notification: re-sign every received field but the signature.
pub fn verify(received: &[(String, String)], key: &str) -> bool {
    let fields: Vec<(&str, &str)> = received
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let given = received
        .iter()
        .find(|(k, _)| k == "sign")
        .map(|(_, v)| v.as_str());
    given == Some(sign(&fields, key, Empties::Skipped).as_str())
}

#[test]
fn the_documentation_vector_signs_as_published() {
    let fields = [
        ("pid", "1001"),
        ("type", "alipay"),
        ("out_trade_no", "20160806151343349"),
        ("notify_url", "http://www.pay.com/notify_url.php"),
        ("return_url", "http://www.pay.com/return_url.php"),
        ("name", "VIP会员"),
        ("money", "1.00"),
    ];
    assert_eq!(
        sign(
            &fields,
            "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i",
            Empties::Skipped
        ),
        "427724b6656aa612cfdbe7a2262036a3"
    );
}
