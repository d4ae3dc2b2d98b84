use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use serde_json::{Value, json};
use sha2::Sha256;

use super::*;

fn paid_order() -> PaidOrder {
    PaidOrder {
        notify_url: Url::parse("https://shop.example.com/notify_url").unwrap(),
        mch_trade_no: "202105135513716648486662".into(),
        out_order_no: "180901620895069445".into(),
        transaction_id: "4200001234202105111234567890".into(),
        total_fee: Fen(100),
        attach: Some("{test:'test1_params'}".into()),
        trade_type: TradeType::Miniapp,
        pay_type: PayType::WeChat,
        bank_type: "OTHERS".into(),
        paid_at_unix: 1_620_703_868,
        nonce_str: "82aafec92844bd7b7575e5d642911ac9".into(),
    }
}

/// The site's side, written apart from the code under test: cut `content`'s raw text out of the
/// body, HMAC it with the key, MD5 the lowercase hex, compare in uppercase.
fn site_accepts(body: &[u8], secret_key: &str) -> bool {
    let body = std::str::from_utf8(body).unwrap();
    let rest = body.strip_prefix(r#"{"sign":""#).unwrap();
    let (sign, rest) = rest.split_once(r#"","content":"#).unwrap();
    let content = rest.strip_suffix('}').unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()).unwrap();
    mac.update(content.as_bytes());
    let hmac_hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let md5_upper: String = Md5::digest(hmac_hex.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    md5_upper == sign
}

#[test]
fn a_paid_order_is_posted_as_json_with_content_signed_by_hmac_then_md5() {
    let notice = paid_notice(&paid_order(), "SK-secret");
    // Content written out by hand; its sign computed with Python's hmac and hashlib:
    // md5(hmac.new(b"SK-secret", content, sha256).hexdigest()).hexdigest().upper()
    let expected = concat!(
        r#"{"sign":"10F3F2C7A6A4AD5083BBEDE8C3DB9A40","content":{"#,
        r#""mch_trade_no":"202105135513716648486662","out_order_no":"180901620895069445","#,
        r#""transaction_id":"4200001234202105111234567890","total_fee":100,"#,
        r#""attach":"{test:'test1_params'}","trade_type":9,"pay_type":1,"bank_type":"OTHERS","#,
        r#""pay_time":"2021-05-11 11:31:08","status":2,"#,
        r#""nonce_str":"82aafec92844bd7b7575e5d642911ac9"}}"#
    );
    assert_eq!(String::from_utf8(notice.body.clone()).unwrap(), expected);
    assert_eq!(notice.method, NoticeMethod::PostJson);
    assert_eq!(notice.url.as_str(), "https://shop.example.com/notify_url");
    assert!(site_accepts(&notice.body, "SK-secret"));
}

#[test]
fn a_site_holding_another_key_refuses_the_notice() {
    let notice = paid_notice(&paid_order(), "SK-secret");
    assert!(!site_accepts(&notice.body, "SK-other"));
}

#[test]
fn a_notice_whose_content_was_changed_no_longer_matches_its_sign() {
    let notice = paid_notice(&paid_order(), "SK-secret");
    let tampered = String::from_utf8(notice.body)
        .unwrap()
        .replace(r#""total_fee":100"#, r#""total_fee":1"#);
    assert!(!site_accepts(tampered.as_bytes(), "SK-secret"));
}

#[test]
fn text_is_escaped_as_the_client_writes_it_back_and_reads_back_unchanged() {
    let attach = "say \"hi\"\\\n\u{1}\u{7f}\u{2028}ok 中文/";
    let order = PaidOrder {
        attach: Some(attach.into()),
        ..paid_order()
    };
    let notice = paid_notice(&order, "SK-secret");
    let body = String::from_utf8(notice.body.clone()).unwrap();
    assert!(body.contains(r#""attach":"say \"hi\"\\\n\u0001"#));
    assert!(body.contains("\u{7f}\\u2028ok 中文/\""));
    let parsed: Value = serde_json::from_slice(&notice.body).unwrap();
    assert_eq!(parsed["content"]["attach"], json!(attach));
    assert!(site_accepts(&notice.body, "SK-secret"));
}

#[test]
fn an_order_without_attach_sends_an_empty_one() {
    let order = PaidOrder {
        attach: None,
        pay_type: PayType::Alipay,
        trade_type: TradeType::Native,
        ..paid_order()
    };
    let parsed: Value = serde_json::from_slice(&paid_notice(&order, "k").body).unwrap();
    assert_eq!(parsed["content"]["attach"], json!(""));
    assert_eq!(parsed["content"]["pay_type"], json!(2));
    assert_eq!(parsed["content"]["trade_type"], json!(2));
    assert_eq!(parsed["content"]["status"], json!(2));
}

#[test]
fn the_notice_counts_as_received_only_when_the_site_says_success_true() {
    let ack = paid_notice(&paid_order(), "SK-secret").ack;
    assert!(ack.accepts(
        200,
        r#"{"status":200,"success":true,"msg":"处理成功","response":null}"#
    ));
    assert!(!ack.accepts(
        200,
        r#"{"status":200,"success":false,"msg":"验签失败","response":null}"#
    ));
    assert!(ack.accepts(200, "success"));
}

#[test]
fn the_pay_time_is_beijing_time() {
    // Unix times from Python: datetime(…, tzinfo=timezone(timedelta(hours=8))).timestamp().
    assert_eq!(beijing_time(0), "1970-01-01 08:00:00");
    assert_eq!(beijing_time(1_620_703_868), "2021-05-11 11:31:08");
    assert_eq!(beijing_time(1_709_222_399), "2024-02-29 23:59:59");
    assert_eq!(beijing_time(1_735_660_799), "2024-12-31 23:59:59");
    assert_eq!(beijing_time(951_840_000), "2000-03-01 00:00:00");
}
