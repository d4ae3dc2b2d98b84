//! Tests against Alipay's own material (the real notification from the official SDK's tests) and
//! of the signing rules, with keys made on the spot where Alipay's private key would be needed.

use std::collections::BTreeMap;

use channel_core::{RsaPrivateKey, RsaPublicKey};
use serde_json::Value;

use crate::sign::{SignTypeIn, sign_content};
use crate::{Client, Config, Error, Fen, SignatureFailure, TradeStatus, verify_response};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors/");

fn vector() -> Value {
    let text = std::fs::read_to_string(format!("{VECTORS}alipay.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn vector_fields() -> BTreeMap<String, String> {
    let v = vector();
    v["trade_notification"]["form_fields"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

/// A client holding the real Alipay public key of the vector's app.
fn vector_client() -> Client {
    let alipay_pem = std::fs::read_to_string(format!("{VECTORS}alipay_public_key.pem")).unwrap();
    let app_key = RsaPrivateKey::generate().unwrap().to_pkcs8_pem().unwrap();
    Client::new(Config::new("2019073166072302", app_key, alipay_pem)).unwrap()
}

#[test]
fn notification_sign_content_matches_the_vector_exactly() {
    let fields = vector_fields();
    let content = sign_content(
        fields.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignTypeIn::Excluded,
    );
    assert_eq!(
        content,
        vector()["trade_notification"]["sign_content"]
            .as_str()
            .unwrap()
    );
}

#[test]
fn real_notification_verifies_and_decodes() {
    let n = vector_client()
        .verify_notification_fields(vector_fields())
        .unwrap();
    assert_eq!(n.trade_status, TradeStatus::TradeSuccess);
    assert_eq!(n.total_amount, Fen(10));
    assert_eq!(n.receipt_amount, Some(Fen(10)));
    assert_eq!(n.point_amount, Some(Fen(0)));
    assert_eq!(n.out_trade_no, "20190815155618536-564-57");
    assert_eq!(n.trade_no, "2019081522001468450512505578");
    assert_eq!(n.buyer_id.as_deref(), Some("2088102534368455"));
    assert_eq!(
        n.gmt_payment,
        Some(crate::china_time::parse("2019-08-15 15:56:24").unwrap())
    );
    assert_eq!(n.fields["subject"], "语雀空间 500人规模");
}

#[test]
fn real_notification_verifies_from_a_form_body() {
    let body = serde_urlencoded::to_string(vector_fields()).unwrap();
    assert!(vector_client().verify_notification(body.as_bytes()).is_ok());
}

#[test]
fn altering_any_signed_field_is_refused() {
    let client = vector_client();
    for key in vector_fields().keys() {
        if key == "sign" || key == "sign_type" {
            continue;
        }
        let mut fields = vector_fields();
        let v = fields.get_mut(key).unwrap();
        v.push('x');
        let err = client.verify_notification_fields(fields).unwrap_err();
        assert!(
            matches!(err, Error::Signature(SignatureFailure::BadSignature)),
            "{key}: {err:?}"
        );
    }
    // An added field is signed content too.
    let mut fields = vector_fields();
    fields.insert("refund_fee".into(), "0.10".into());
    assert!(matches!(
        client.verify_notification_fields(fields),
        Err(Error::Signature(_))
    ));
    // Dropping a field changes the content as well.
    let mut fields = vector_fields();
    fields.remove("buyer_id");
    assert!(matches!(
        client.verify_notification_fields(fields),
        Err(Error::Signature(_))
    ));
}

#[test]
fn altered_missing_or_foreign_signatures_are_refused() {
    let client = vector_client();
    let mut fields = vector_fields();
    let sign = fields.get_mut("sign").unwrap();
    // Flip one base64 character in the middle.
    let mid = sign.len() / 2;
    let flipped = if &sign[mid..=mid] == "A" { "B" } else { "A" };
    sign.replace_range(mid..=mid, flipped);
    assert!(matches!(
        client.verify_notification_fields(fields),
        Err(Error::Signature(SignatureFailure::BadSignature))
    ));

    let mut fields = vector_fields();
    fields.remove("sign");
    assert!(matches!(
        client.verify_notification_fields(fields),
        Err(Error::Signature(SignatureFailure::Missing))
    ));

    // The same valid notification presented to another app is refused.
    let alipay_pem = std::fs::read_to_string(format!("{VECTORS}alipay_public_key.pem")).unwrap();
    let app_key = RsaPrivateKey::generate().unwrap().to_pkcs8_pem().unwrap();
    let other = Client::new(Config::new("2021000000000000", app_key, alipay_pem)).unwrap();
    assert!(matches!(
        other.verify_notification_fields(vector_fields()),
        Err(Error::Signature(SignatureFailure::ForeignApp))
    ));
}

#[test]
fn a_sign_type_other_than_rsa2_is_refused_though_it_is_not_signed() {
    let client = vector_client();
    for sign_type in [Some("RSA"), Some("rsa2"), Some(""), None] {
        let mut fields = vector_fields();
        match sign_type {
            Some(t) => fields.insert("sign_type".into(), t.into()),
            None => fields.remove("sign_type"),
        };
        assert!(
            matches!(
                client.verify_notification_fields(fields),
                Err(Error::Signature(SignatureFailure::SignType))
            ),
            "{sign_type:?}"
        );
    }
}

#[test]
fn a_notification_for_another_seller_is_refused_when_the_seller_is_known() {
    let alipay_pem = std::fs::read_to_string(format!("{VECTORS}alipay_public_key.pem")).unwrap();
    let app_key = RsaPrivateKey::generate().unwrap().to_pkcs8_pem().unwrap();
    let config = |seller: &str| {
        Config::new("2019073166072302", app_key.clone(), alipay_pem.clone()).with_seller_id(seller)
    };
    let ours = Client::new(config("2088531891668739")).unwrap();
    assert!(ours.verify_notification_fields(vector_fields()).is_ok());
    let other = Client::new(config("2088000000000000")).unwrap();
    assert!(matches!(
        other.verify_notification_fields(vector_fields()),
        Err(Error::Signature(SignatureFailure::ForeignSeller))
    ));
}

#[test]
fn duplicate_notification_fields_are_refused() {
    let mut pairs: Vec<(String, String)> = vector_fields().into_iter().collect();
    pairs.push(("total_amount".into(), "0.10".into()));
    assert!(matches!(
        vector_client().verify_notification_fields(pairs),
        Err(Error::Decode(_))
    ));
}

/// A client whose "Alipay" key is one we hold, so responses can be forged for tests.
fn test_client() -> (Client, RsaPrivateKey, RsaPublicKey) {
    let app = RsaPrivateKey::generate().unwrap();
    let alipay = RsaPrivateKey::generate().unwrap();
    let config = Config::new(
        "2021000000000001",
        app.to_pkcs8_pem().unwrap(),
        alipay.public_key().unwrap().to_pem(),
    );
    (
        Client::new(config).unwrap(),
        alipay,
        app.public_key().unwrap(),
    )
}

#[test]
fn request_signature_covers_sign_type_and_verifies_with_the_app_key() {
    let (client, _, app_public) = test_client();
    let order = crate::Order::new("o-1", Fen(1), "one fen");
    let params = client
        .signed_params(
            "alipay.trade.precreate",
            &crate::order::biz_with(&order, &[]),
            Default::default(),
        )
        .unwrap();
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("sign_type"), Some("RSA2"));
    assert_eq!(get("charset"), Some("utf-8"));
    assert_eq!(get("version"), Some("1.0"));
    assert_eq!(get("format"), Some("JSON"));
    assert_eq!(
        get("notify_url"),
        None,
        "empty optional parameters are not sent"
    );
    let timestamp = get("timestamp").unwrap();
    assert!(crate::china_time::parse(timestamp).is_ok(), "{timestamp}");
    assert_eq!(
        get("biz_content"),
        Some(r#"{"out_trade_no":"o-1","subject":"one fen","total_amount":"0.01"}"#)
    );
    let sign = get("sign").unwrap();
    let with_type = sign_content(
        params.iter().map(|(k, v)| (*k, v.as_str())),
        SignTypeIn::Included,
    );
    assert!(with_type.contains("&sign_type=RSA2&"));
    app_public
        .verify_base64(with_type.as_bytes(), sign)
        .unwrap();
    let without_type = sign_content(
        params.iter().map(|(k, v)| (*k, v.as_str())),
        SignTypeIn::Excluded,
    );
    assert!(
        app_public
            .verify_base64(without_type.as_bytes(), sign)
            .is_err()
    );
}

#[test]
fn largest_amount_goes_out_as_yuan() {
    let (client, _, _) = test_client();
    let order = crate::Order::new("o-2", Fen(99_999_999), "max");
    let s = client.app_pay(&order).unwrap();
    assert!(s.contains("%22total_amount%22%3A%22999999.99%22"), "{s}");
}

const METHOD: &str = "alipay.trade.query";

fn signed_body(alipay: &RsaPrivateKey, inner: &str, sign_first: bool) -> String {
    let sign = alipay.sign_base64(inner.as_bytes());
    if sign_first {
        format!(r#"{{"sign":"{sign}","alipay_trade_query_response":{inner}}}"#)
    } else {
        format!(r#"{{"alipay_trade_query_response":{inner},"sign":"{sign}"}}"#)
    }
}

#[test]
fn responses_verify_over_the_raw_text_in_either_order() {
    let (client, alipay, _) = test_client();
    // Spacing, escapes and key order a re-serialisation would change.
    let inner = r#"{ "code":"10000","msg":"Success","subject":"a}\"{b \u4e2d","total_amount":"999999.99","nested":{"x":[1,{"y":"}"}]} }"#;
    for sign_first in [false, true] {
        let body = signed_body(&alipay, inner, sign_first);
        assert_eq!(
            verify_response(client.alipay_public_key(), METHOD, &body).unwrap(),
            inner
        );
    }
    let tampered = signed_body(&alipay, inner, false).replace("999999.99", "999999.98");
    assert!(matches!(
        verify_response(client.alipay_public_key(), METHOD, &tampered),
        Err(Error::Signature(SignatureFailure::BadSignature))
    ));
}

#[test]
fn unsigned_success_is_refused_unsigned_error_is_upstream() {
    let (client, alipay, _) = test_client();
    let key = client.alipay_public_key();
    let ok = r#"{"alipay_trade_query_response":{"code":"10000","msg":"Success"}}"#;
    assert!(matches!(
        verify_response(key, METHOD, ok),
        Err(Error::Signature(SignatureFailure::Missing))
    ));

    let err = r#"{"alipay_trade_query_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id"}}"#;
    let raw = verify_response(key, METHOD, err).unwrap();
    let e = super::client::tests_decode(raw).unwrap_err();
    assert_eq!(e.upstream_code(), Some("isv.invalid-app-id"));
    assert!(!e.is_outcome_unknown());

    // A signed error must verify like anything else.
    let inner = r#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"}"#;
    let body = signed_body(&alipay, inner, false);
    assert!(verify_response(key, METHOD, &body).is_ok());
    let forged = body.replace("40004", "40005");
    assert!(matches!(
        verify_response(key, METHOD, &forged),
        Err(Error::Signature(_))
    ));
}

#[test]
fn outcome_unknown_only_when_unknown() {
    let upstream = |code: &str, sub: &str| Error::Upstream {
        code: code.into(),
        msg: String::new(),
        sub_code: Some(sub.into()),
        sub_msg: None,
    };
    assert!(Error::Transport(channel_core::TransportError::Timeout).is_outcome_unknown());
    assert!(upstream("20000", "isp.unknow-error").is_outcome_unknown());
    assert!(upstream("40004", "ACQ.SYSTEM_ERROR").is_outcome_unknown());
    assert!(upstream("40004", "ACQ.TRADE_SETTLE_ERROR").is_outcome_unknown());
    assert!(!upstream("40004", "ACQ.TRADE_NOT_EXIST").is_outcome_unknown());
    assert!(!Error::Config("x".into()).is_outcome_unknown());
}

#[test]
fn bad_keys_are_config_errors() {
    let e = Client::new(Config::new("1", "not a key", "also not")).unwrap_err();
    assert!(matches!(e, Error::Config(_)));
}

#[test]
fn a_view_acting_for_a_merchant_signs_its_token_into_every_call_and_never_prints_it() {
    let (isv, _, app_public) = test_client();
    let token = "201509BBeff9351ad1874306903e96b91d248A36";
    let merchant = isv.acting_for(token).with_seller_id("2088102150527498");
    let params_of = |c: &Client| {
        c.signed_params(
            "alipay.trade.query",
            &serde_json::json!({"out_trade_no": "o-1"}),
            Default::default(),
        )
        .unwrap()
    };
    let token_of = |params: &[(&str, String)]| {
        params
            .iter()
            .find(|(k, _)| *k == "app_auth_token")
            .map(|(_, v)| v.clone())
    };
    let params = params_of(&merchant);
    assert_eq!(token_of(&params).as_deref(), Some(token));
    let signed = sign_content(
        params.iter().map(|(k, v)| (*k, v.as_str())),
        SignTypeIn::Included,
    );
    assert!(signed.contains(&format!("app_auth_token={token}")));
    let sign = &params.iter().find(|(k, _)| *k == "sign").unwrap().1;
    app_public.verify_base64(signed.as_bytes(), sign).unwrap();

    // The app itself is untouched: no token, its own seller (none here).
    assert_eq!(token_of(&params_of(&isv)), None);
    assert!(!isv.is_acting_for_a_merchant() && merchant.is_acting_for_a_merchant());
    assert_eq!(
        (isv.seller_id(), merchant.seller_id()),
        (None, Some("2088102150527498"))
    );
    assert_eq!(merchant.app_id(), isv.app_id());

    let printed = format!("{merchant:?} {:?}", isv.acting_for(token));
    assert!(!printed.contains(token), "{printed}");
    assert!(printed.contains("<redacted>"), "{printed}");
}

#[test]
fn a_token_given_in_the_config_is_sent_and_kept_out_of_debug() {
    let app = RsaPrivateKey::generate().unwrap();
    let alipay = RsaPrivateKey::generate().unwrap();
    let mut config = Config::new(
        "2021000000000001",
        app.to_pkcs8_pem().unwrap(),
        alipay.public_key().unwrap().to_pem(),
    );
    config.app_auth_token = Some("201509BBsecret".into());
    let client = Client::new(config).unwrap();
    let params = client
        .signed_params(
            "alipay.trade.query",
            &serde_json::json!({}),
            Default::default(),
        )
        .unwrap();
    assert!(
        params
            .iter()
            .any(|(k, v)| *k == "app_auth_token" && v == "201509BBsecret")
    );
    assert!(!format!("{client:?}").contains("201509BBsecret"));
}
