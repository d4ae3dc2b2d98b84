use serde_json::json;

use super::*;

fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => panic!("test fields must be an object"),
    }
}

fn wechat_miniapp() -> Map<String, Value> {
    fields(json!({
        "access_key": "ak_live_0123456789abcdefghijklmn",
        "body": "QQ 会员充值",
        "out_order_no": "180901620895069445",
        "pay_type": 1,
        "total_fee": 100,
        "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        "notify_url": "https://shop.example.com/notify_url",
        "attach": "{test:'test1_params'}",
        "ledger": r#"[{"amount":1,"sub_mch_no":"M001"}]"#,
        "sign": "E1BDB03ECDC44F48CE1D4D353819318A",
    }))
}

fn with(mut request: Map<String, Value>, key: &str, value: Value) -> Map<String, Value> {
    request.insert(key.into(), value);
    request
}

fn without(mut request: Map<String, Value>, key: &str) -> Map<String, Value> {
    request.remove(key);
    request
}

fn miniapp_error(request: &Map<String, Value>) -> RequestError {
    match MiniappRequest::parse(request) {
        Err(error) => error,
        Ok(parsed) => panic!("accepted: {parsed:?}"),
    }
}

#[test]
fn a_wechat_mini_program_request_becomes_a_typed_order() {
    let parsed = MiniappRequest::parse(&wechat_miniapp()).unwrap();
    assert_eq!(parsed.order.access_key, "ak_live_0123456789abcdefghijklmn");
    assert_eq!(parsed.order.body, "QQ 会员充值");
    assert_eq!(parsed.order.out_order_no.as_str(), "180901620895069445");
    assert_eq!(parsed.order.pay_type, PayType::WeChat);
    assert_eq!(parsed.order.total_fee, Fen(100));
    assert_eq!(
        parsed.order.notify_url.as_str(),
        "https://shop.example.com/notify_url"
    );
    assert_eq!(
        parsed.order.attach.as_deref(),
        Some("{test:'test1_params'}")
    );
    assert_eq!(
        parsed.order.ledger,
        vec![LedgerEntry {
            amount: Fen(1),
            sub_mch_no: "M001".into()
        }]
    );
    assert_eq!(
        parsed.payer,
        Payer::WeChat {
            openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into()
        }
    );
}

#[test]
fn an_alipay_mini_program_request_is_paid_by_its_buyer_id() {
    let request = with(
        with(wechat_miniapp(), "pay_type", json!(2)),
        "buyer_id",
        json!("2088102177846875"),
    );
    let parsed = MiniappRequest::parse(&request).unwrap();
    assert_eq!(parsed.order.pay_type, PayType::Alipay);
    assert_eq!(
        parsed.payer,
        Payer::Alipay {
            buyer_id: "2088102177846875".into()
        }
    );
}

#[test]
fn numbers_sent_as_digit_strings_are_read_as_numbers() {
    let request = with(
        with(wechat_miniapp(), "pay_type", json!("1")),
        "total_fee",
        json!("100"),
    );
    let parsed = MiniappRequest::parse(&request).unwrap();
    assert_eq!(parsed.order.total_fee, Fen(100));
}

#[test]
fn a_mini_program_payer_must_match_the_pay_type() {
    assert_eq!(
        miniapp_error(&without(wechat_miniapp(), "openid")),
        RequestError::MissingOpenid
    );
    assert_eq!(
        miniapp_error(&with(wechat_miniapp(), "openid", json!(""))),
        RequestError::MissingOpenid
    );
    // An openid does not pay an Alipay order.
    assert_eq!(
        miniapp_error(&with(wechat_miniapp(), "pay_type", json!(2))),
        RequestError::MissingBuyerId
    );
}

#[test]
fn an_order_number_must_be_18_to_32_letters_or_digits() {
    for bad in [
        json!("18090162089506944"),
        json!("1809016208950694451809016208950694"),
        json!("2024-05-01-00000000001"),
        json!("订单订单订单订单订单订单订单订单订单订单"),
        json!(180_901_620_895_069_445_u64),
    ] {
        assert_eq!(
            miniapp_error(&with(wechat_miniapp(), "out_order_no", bad)),
            RequestError::BadOrderNo
        );
    }
    for good in ["ABCdef123456789012", "12345678901234567890123456789012"] {
        let request = with(wechat_miniapp(), "out_order_no", json!(good));
        assert_eq!(
            MiniappRequest::parse(&request)
                .unwrap()
                .order
                .out_order_no
                .as_str(),
            good
        );
    }
    assert_eq!(
        miniapp_error(&without(wechat_miniapp(), "out_order_no")),
        RequestError::Missing("out_order_no")
    );
}

#[test]
fn only_wechat_and_alipay_are_pay_types() {
    for bad in [json!(0), json!(3), json!("wechat"), json!(1.0)] {
        assert_eq!(
            miniapp_error(&with(wechat_miniapp(), "pay_type", bad)),
            RequestError::BadPayType
        );
    }
    assert_eq!(
        miniapp_error(&without(wechat_miniapp(), "pay_type")),
        RequestError::Missing("pay_type")
    );
}

#[test]
fn a_total_fee_is_a_whole_positive_number_of_fen() {
    for bad in [
        json!(0),
        json!(-100),
        json!(1.5),
        json!(100.0),
        json!("1.00"),
        json!("-1"),
        json!("一百"),
        json!(1_000_000_000),
        json!(true),
    ] {
        assert_eq!(
            miniapp_error(&with(wechat_miniapp(), "total_fee", bad)),
            RequestError::BadTotalFee
        );
    }
    assert_eq!(
        miniapp_error(&without(wechat_miniapp(), "total_fee")),
        RequestError::Missing("total_fee")
    );
    let largest = with(wechat_miniapp(), "total_fee", json!(999_999_999));
    assert_eq!(
        MiniappRequest::parse(&largest).unwrap().order.total_fee,
        Fen(999_999_999)
    );
}

#[test]
fn the_goods_name_is_required_and_at_most_32_characters() {
    assert_eq!(
        miniapp_error(&without(wechat_miniapp(), "body")),
        RequestError::Missing("body")
    );
    assert_eq!(
        miniapp_error(&with(wechat_miniapp(), "body", json!("x".repeat(33)))),
        RequestError::TooLong {
            field: "body",
            max: 32
        }
    );
    assert_eq!(
        miniapp_error(&with(wechat_miniapp(), "body", json!(42))),
        RequestError::NotText("body")
    );
    let chinese = with(wechat_miniapp(), "body", json!("充".repeat(32)));
    assert!(MiniappRequest::parse(&chinese).is_ok());
}

#[test]
fn a_notify_url_is_a_required_http_address() {
    assert_eq!(
        miniapp_error(&without(wechat_miniapp(), "notify_url")),
        RequestError::Missing("notify_url")
    );
    for bad in ["ftp://shop.example.com/notify", "/notify", "not a url"] {
        assert_eq!(
            miniapp_error(&with(wechat_miniapp(), "notify_url", json!(bad))),
            RequestError::BadUrl("notify_url")
        );
    }
    let long = format!("https://shop.example.com/{}", "n".repeat(104));
    assert_eq!(
        miniapp_error(&with(wechat_miniapp(), "notify_url", json!(long))),
        RequestError::TooLong {
            field: "notify_url",
            max: 128
        }
    );
}

#[test]
fn attach_is_optional_and_at_most_128_characters() {
    let parsed = MiniappRequest::parse(&without(wechat_miniapp(), "attach")).unwrap();
    assert_eq!(parsed.order.attach, None);
    assert_eq!(
        miniapp_error(&with(wechat_miniapp(), "attach", json!("a".repeat(129)))),
        RequestError::TooLong {
            field: "attach",
            max: 128
        }
    );
}

#[test]
fn a_ledger_sharing_more_than_the_order_or_not_json_is_refused() {
    let over = json!(r#"[{"amount":60,"sub_mch_no":"A"},{"amount":41,"sub_mch_no":"B"}]"#);
    assert_eq!(
        miniapp_error(&with(wechat_miniapp(), "ledger", over)),
        RequestError::LedgerOverTotal
    );
    assert!(matches!(
        miniapp_error(&with(wechat_miniapp(), "ledger", json!("[{\"amount\":1"))),
        RequestError::BadLedger(_)
    ));
    let array = json!([{"amount": 100, "sub_mch_no": "A"}]);
    let parsed = MiniappRequest::parse(&with(wechat_miniapp(), "ledger", array)).unwrap();
    assert_eq!(parsed.order.ledger[0].amount, Fen(100));
}

#[test]
fn a_native_order_expires_after_30_minutes_unless_it_says_1_to_60() {
    let native = without(wechat_miniapp(), "openid");
    assert_eq!(NativeRequest::parse(&native).unwrap().expire_minutes, 30);
    let ten = with(native.clone(), "expire", json!("10"));
    assert_eq!(NativeRequest::parse(&ten).unwrap().expire_minutes, 10);
    for bad in [json!(0), json!(61), json!(-1), json!(1.5), json!("soon")] {
        assert_eq!(
            NativeRequest::parse(&with(native.clone(), "expire", bad)),
            Err(RequestError::BadExpire)
        );
    }
}

#[test]
fn a_mobile_request_keeps_its_return_and_quit_addresses() {
    let mobile = with(
        with(
            with(wechat_miniapp(), "appid", json!("wdf-app-1")),
            "return_url",
            json!("https://shop.example.com/paid"),
        ),
        "quit_url",
        json!("https://shop.example.com/cart"),
    );
    let parsed = MobileRequest::parse(&mobile).unwrap();
    assert_eq!(parsed.appid.as_deref(), Some("wdf-app-1"));
    assert_eq!(parsed.expire_minutes, 30);
    assert_eq!(
        parsed.return_url.map(String::from).as_deref(),
        Some("https://shop.example.com/paid")
    );
    assert_eq!(
        parsed.quit_url.map(String::from).as_deref(),
        Some("https://shop.example.com/cart")
    );
    assert_eq!(parsed.client_ip, None);
    assert_eq!(
        MobileRequest::parse(&with(mobile, "quit_url", json!("javascript:alert(1)"))),
        Err(RequestError::BadUrl("quit_url"))
    );
}

#[test]
fn a_mobile_request_may_name_the_payers_address_for_wechat_h5() {
    let mobile = with(wechat_miniapp(), "client_ip", json!("203.0.113.7"));
    let parsed = MobileRequest::parse(&mobile).unwrap();
    assert_eq!(parsed.client_ip, Some("203.0.113.7".parse().unwrap()));
    let v6 = with(wechat_miniapp(), "client_ip", json!("2001:db8::1"));
    assert!(MobileRequest::parse(&v6).unwrap().client_ip.is_some());
    for bad in [json!("203.0.113"), json!("localhost"), json!(7)] {
        assert!(
            MobileRequest::parse(&with(wechat_miniapp(), "client_ip", bad.clone())).is_err(),
            "{bad} was accepted"
        );
    }
}

#[test]
fn the_access_key_is_read_before_the_rest_to_find_the_secret() {
    assert_eq!(
        access_key(&wechat_miniapp()),
        Ok("ak_live_0123456789abcdefghijklmn")
    );
    assert_eq!(
        access_key(&without(wechat_miniapp(), "access_key")),
        Err(RequestError::Missing("access_key"))
    );
}

#[test]
fn refusals_carry_chinese_messages() {
    assert_eq!(RequestError::BadSign.to_string(), "签名错误");
    assert_eq!(
        RequestError::Missing("notify_url").to_string(),
        "缺少参数 notify_url"
    );
    assert_eq!(
        RequestError::MissingOpenid.to_string(),
        "pay_type 为 1（微信）时 openid 必传"
    );
}
