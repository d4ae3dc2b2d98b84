use super::*;
use crate::SignatureFailure;
use crate::aead;
use crate::test_vectors::{vector_file, vectors};
use channel_core::RsaPrivateKey;
use channel_core::rsa::Certificate;
use http::HeaderValue;

fn headers_from(pairs: &[(&'static str, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

#[test]
fn reproduces_the_official_signed_notification() {
    let v = vectors();
    let n = &v["signed_notification"];
    let cert =
        Certificate::from_pem(&vector_file(n["platform_cert_file"].as_str().unwrap())).unwrap();
    assert_eq!(cert.serial_no, n["platform_serial"].as_str().unwrap());
    let keys = KeyRing::default();
    keys.insert(cert.serial_no.clone(), cert.public_key);
    let hv = &n["headers"];
    let headers = headers_from(&[
        (
            "Wechatpay-Timestamp",
            hv["Wechatpay-Timestamp"].as_str().unwrap().to_owned(),
        ),
        (
            "Wechatpay-Nonce",
            hv["Wechatpay-Nonce"].as_str().unwrap().to_owned(),
        ),
        (
            "Wechatpay-Serial",
            hv["Wechatpay-Serial"].as_str().unwrap().to_owned(),
        ),
        (
            "Wechatpay-Signature",
            hv["Wechatpay-Signature"].as_str().unwrap().to_owned(),
        ),
    ]);
    let body = n["body"].as_str().unwrap().as_bytes();
    let apiv3 = ApiV3Key::new(n["apiv3_key"].as_str().unwrap()).unwrap();
    let ts: i64 = hv["Wechatpay-Timestamp"].as_str().unwrap().parse().unwrap();

    let notification = verify_notification(&headers, body, &keys, &apiv3, ts + 10).unwrap();
    assert_eq!(
        notification.plaintext,
        n["decrypted_resource"].as_str().unwrap()
    );
    assert_eq!(notification.event_type, "PAYSCORE.USER_OPEN_SERVICE");
    assert_eq!(notification.event, NotificationEvent::Unmodelled);
    assert_eq!(notification.original_type.as_deref(), Some("payscore"));

    // Today, the same recorded notification is stale: the skew check is on unless the clock says otherwise.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(matches!(
        verify_notification(&headers, body, &keys, &apiv3, now),
        Err(Error::Signature(SignatureFailure::StaleTimestamp { .. }))
    ));
    let mut tampered = body.to_vec();
    let last = tampered.len() - 2;
    tampered[last] = b' ';
    assert!(matches!(
        verify_notification(&headers, &tampered, &keys, &apiv3, ts),
        Err(Error::Signature(SignatureFailure::BadSignature))
    ));
}

/// A platform key and a notification signed with it, as WeChat Pay would send it.
struct Platform {
    key: RsaPrivateKey,
    keys: KeyRing,
    apiv3: ApiV3Key,
}

const SERIAL: &str = "PUB_KEY_ID_0114232134912410000000000000";

impl Platform {
    fn new() -> Self {
        let key = RsaPrivateKey::generate().unwrap();
        let keys = KeyRing::default();
        keys.insert(SERIAL.into(), key.public_key().unwrap());
        Self {
            key,
            keys,
            apiv3: ApiV3Key::new("0123456789abcdef0123456789abcdef").unwrap(),
        }
    }

    fn notification(
        &self,
        event_type: &str,
        resource: &serde_json::Value,
        ts: i64,
    ) -> (HeaderMap, Vec<u8>) {
        let ciphertext = aead::encrypt(
            &self.apiv3,
            "fdasflkja484",
            "transaction",
            resource.to_string().as_bytes(),
        )
        .unwrap();
        let body = serde_json::json!({
            "id": "EV-2018022511223320873", "create_time": "2015-05-20T13:29:35+08:00",
            "resource_type": "encrypt-resource", "event_type": event_type, "summary": "支付成功",
            "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": ciphertext, "associated_data": "transaction", "nonce": "fdasflkja484"}
        })
        .to_string()
        .into_bytes();
        let mut message = format!("{ts}\nnonce-1\n").into_bytes();
        message.extend_from_slice(&body);
        message.push(b'\n');
        let headers = headers_from(&[
            ("Wechatpay-Timestamp", ts.to_string()),
            ("Wechatpay-Nonce", "nonce-1".into()),
            ("Wechatpay-Serial", SERIAL.into()),
            (
                "Wechatpay-Signature-Type",
                "WECHATPAY2-SHA256-RSA2048".into(),
            ),
            ("Wechatpay-Signature", self.key.sign_base64(&message)),
        ]);
        (headers, body)
    }
}

fn paid_transaction() -> serde_json::Value {
    serde_json::json!({"appid":"wxd678efh567hg6787","mchid":"1230000109","out_trade_no":"1217752501201407033233368018",
        "transaction_id":"4200000000201407033233368018","trade_type":"NATIVE","trade_state":"SUCCESS","trade_state_desc":"支付成功",
        "bank_type":"OTHERS","attach":"","success_time":"2018-06-08T10:34:56+08:00","payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount":{"total":100,"payer_total":100,"currency":"CNY","payer_currency":"CNY"}})
}

#[test]
fn decodes_a_genuine_transaction_success() {
    let p = Platform::new();
    let now = 1_700_000_000;
    let (h, b) = p.notification("TRANSACTION.SUCCESS", &paid_transaction(), now);
    let n = verify_notification(&h, &b, &p.keys, &p.apiv3, now).unwrap();
    let NotificationEvent::TransactionSuccess(t) = n.event else {
        panic!("{:?}", n.event)
    };
    assert_eq!(t.out_trade_no, "1217752501201407033233368018");
    assert_eq!(t.amount.unwrap().total, 100);
}

#[test]
fn wrong_signature_stale_timestamp_and_wrong_key_are_distinct_errors() {
    let p = Platform::new();
    let now = 1_700_000_000;
    let (h, b) = p.notification("TRANSACTION.SUCCESS", &paid_transaction(), now);

    let mut forged = h.clone();
    let forger = RsaPrivateKey::generate().unwrap();
    forged.insert(
        "Wechatpay-Signature",
        HeaderValue::from_str(&forger.sign_base64(b"x")).unwrap(),
    );
    let err = verify_notification(&forged, &b, &p.keys, &p.apiv3, now).unwrap_err();
    assert!(
        matches!(err, Error::Signature(SignatureFailure::BadSignature)),
        "{err:?}"
    );

    let err = verify_notification(&h, &b, &p.keys, &p.apiv3, now + 301).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Signature(SignatureFailure::StaleTimestamp { .. })
        ),
        "{err:?}"
    );

    let wrong_key = ApiV3Key::new("fedcba9876543210fedcba9876543210").unwrap();
    let err = verify_notification(&h, &b, &p.keys, &wrong_key, now).unwrap_err();
    assert!(matches!(err, Error::Decrypt), "{err:?}");

    let err = verify_notification(&h, &b, &KeyRing::default(), &p.apiv3, now).unwrap_err();
    assert!(
        matches!(err, Error::Signature(SignatureFailure::UnknownSerial(_))),
        "{err:?}"
    );

    let mut missing = h;
    missing.remove("Wechatpay-Nonce");
    let err = verify_notification(&missing, &b, &p.keys, &p.apiv3, now).unwrap_err();
    assert!(
        matches!(err, Error::Signature(SignatureFailure::MissingHeader(_))),
        "{err:?}"
    );
}

#[test]
fn refund_events_must_agree_with_their_status() {
    let p = Platform::new();
    let now = 1_700_000_000;
    let refund = |status: &str| {
        serde_json::json!({"mchid":"1900000100","transaction_id":"1008450740201411110005820873","out_trade_no":"20150806125346",
            "refund_id":"50200207182018070300011301001","out_refund_no":"7752501201407033233368018","refund_status":status,
            "success_time":"2018-06-08T10:34:56+08:00","user_received_account":"招商银行信用卡0403",
            "amount":{"total":999,"refund":999,"payer_total":999,"payer_refund":999}})
    };
    let (h, b) = p.notification("REFUND.SUCCESS", &refund("SUCCESS"), now);
    let n = verify_notification(&h, &b, &p.keys, &p.apiv3, now).unwrap();
    assert!(matches!(n.event, NotificationEvent::Refund(ref r) if r.amount.refund == 999));
    let (h, b) = p.notification("REFUND.SUCCESS", &refund("ABNORMAL"), now);
    assert!(matches!(
        verify_notification(&h, &b, &p.keys, &p.apiv3, now),
        Err(Error::Decode(_))
    ));
    let (h, b) = p.notification("REFUND.CLOSED", &refund("CLOSED"), now);
    assert!(verify_notification(&h, &b, &p.keys, &p.apiv3, now).is_ok());
}

#[test]
fn an_undocumented_trade_state_is_not_misfiled() {
    let p = Platform::new();
    let now = 1_700_000_000;
    let mut t = paid_transaction();
    t["trade_state"] = "PARTIALLY_PAID".into();
    let (h, b) = p.notification("TRANSACTION.SUCCESS", &t, now);
    assert!(matches!(
        verify_notification(&h, &b, &p.keys, &p.apiv3, now),
        Err(Error::Decode(_))
    ));
}

#[test]
fn a_profit_sharing_notice_names_the_splitter_directly_or_as_provider_and_sub_merchant() {
    let partner = r#"{"sp_mchid":"1900000100","sub_mchid":"1900000109","transaction_id":"4200000000000000000000000000","order_id":"3008450740201411110007820472","out_order_no":"P20150806125346","receiver":{"type":"MERCHANT_ID","account":"1900000110","amount":888,"description":"分给商户1900000110"},"success_time":"2018-06-08T10:34:56+08:00"}"#;
    let NotificationEvent::ProfitSharingSuccess(n) =
        decode_event("PROFITSHARING.SUCCESS", partner).unwrap()
    else {
        panic!("not a profit-sharing success")
    };
    assert_eq!(
        (n.mchid, n.sp_mchid.as_deref(), n.sub_mchid.as_deref()),
        (None, Some("1900000100"), Some("1900000109"))
    );
    assert_eq!(n.receiver.amount, 888);
    let direct = partner.replace(
        r#""sp_mchid":"1900000100","sub_mchid":"1900000109""#,
        r#""mchid":"1900000100""#,
    );
    let NotificationEvent::ProfitSharingReturn(n) =
        decode_event("PROFITSHARING.RETURN", &direct).unwrap()
    else {
        panic!("not a profit-sharing return")
    };
    assert_eq!(n.mchid.as_deref(), Some("1900000100"));
}
