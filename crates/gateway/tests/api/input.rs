//! What a merchant sends is read one way only: a key given twice, at any depth, is refused rather
//! than resolved by the parser; text shown to the payer cannot hide invisible formatting.

use serde_json::json;

use crate::api_tests;
use crate::support::app::TestApp;

/// Bodies with one key twice, for `POST /pay/wechat/native` and `POST /v1/orders`. The order number
/// differs per case, so an accepted case would create a new order and answer 200.
fn native_duplicates() -> Vec<String> {
    vec![
        // The last one would win: an order of 500 fen where the site's logs say 1.
        r#"{"out_trade_no":"order_dup_n1","description":"x","amount_total":1,"amount_total":500}"#.to_owned(),
        r#"{"out_trade_no":"order_dup_n2","description":"x","description":"y","amount_total":1}"#.to_owned(),
        r#"{"out_trade_no":"order_dup_n3","out_trade_no":"order_dup_n4","description":"x","amount_total":1}"#.to_owned(),
        // The same key spelled with an escape.
        r#"{"out_trade_no":"order_dup_n5","description":"x","amount_total":1,"amount\u005ftotal":500}"#.to_owned(),
        // In an object the route does not read: the body as a whole is ambiguous.
        r#"{"out_trade_no":"order_dup_n6","description":"x","amount_total":1,"extra":{"a":1,"a":2}}"#.to_owned(),
    ]
}

fn v1_duplicates() -> Vec<String> {
    let head = r#""channel":"wechat","description":"x","amount_total":1"#;
    vec![
        format!(r#"{{"out_trade_no":"order_dup_v1",{head},"method":"native","amount_total":500}}"#),
        format!(r#"{{"out_trade_no":"order_dup_v2",{head},"method":"native","method":"h5"}}"#),
        // Nested: which openid pays would depend on the reader.
        format!(
            r#"{{"out_trade_no":"order_dup_v3",{head},"method":"jsapi","payer":{{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o","openid":"oAttacker000000000000000000"}}}}"#
        ),
        format!(
            r#"{{"out_trade_no":"order_dup_v4",{head},"method":"native","payer":{{"x":{{"y":[{{"z":1,"z":2}}]}}}}}}"#
        ),
    ]
}

/// Format characters (Unicode `Cf`) and separators that can make a description read differently.
const INVISIBLE: &[(char, &str)] = &[
    ('\u{202E}', "right-to-left override"),
    ('\u{202D}', "left-to-right override"),
    ('\u{202A}', "left-to-right embedding"),
    ('\u{2066}', "left-to-right isolate"),
    ('\u{2067}', "right-to-left isolate"),
    ('\u{2068}', "first strong isolate"),
    ('\u{2069}', "pop directional isolate"),
    ('\u{200E}', "left-to-right mark"),
    ('\u{200F}', "right-to-left mark"),
    ('\u{200B}', "zero-width space"),
    ('\u{200D}', "zero-width joiner"),
    ('\u{2060}', "word joiner"),
    ('\u{FEFF}', "zero-width no-break space"),
    ('\u{00AD}', "soft hyphen"),
    ('\u{E0041}', "tag latin capital a"),
    ('\u{2028}', "line separator"),
];

api_tests! {
    async fn a_key_given_twice_in_a_onepass_order_is_refused(app: TestApp) {
        for body in native_duplicates() {
            let r = app.create_native_raw(&body).await;
            r.assert_error(400, "duplicate_key");
            assert!(r.json["message"].as_str().unwrap().contains("twice"), "{}", r.text);
        }
        // Nothing was created: neither amount reached the channel.
        assert_eq!(app.sim_wechat_orders(), 0);
        // The same order without the repeated key is accepted.
        let once = r#"{"out_trade_no":"order_dup_n1","description":"x","amount_total":1}"#;
        app.create_native_raw(once).await.assert_ok();
    }

    async fn a_key_given_twice_in_a_v1_order_is_refused_at_any_depth(app: TestApp) {
        for body in v1_duplicates() {
            let r = app.signed("POST", "/v1/orders", &body).await;
            r.assert_error(400, "duplicate_key");
        }
        assert_eq!(app.sim_wechat_orders(), 0);
    }

    async fn a_description_with_invisible_formatting_is_refused(app: TestApp) {
        for (c, name) in INVISIBLE {
            // "VIP 1 day" with the day count turned around by an override reads as a longer period.
            let description = format!("VIP {c}yad 1{c}");
            let native = app.create_native(&json!({"out_trade_no": "order_bidi_1", "description": description, "amount_total": 1})).await;
            native.assert_error(400, "invalid_characters");
            assert_eq!(native.json["field"], "description", "{name}");
            let code_point = format!("U+{:04X}", u32::from(*c));
            assert!(native.json["message"].as_str().unwrap().contains(&code_point), "{name}: {}", native.text);
            let v1 = app.create_order(&json!({"out_trade_no": "order_bidi_2", "channel": "alipay", "method": "qr",
                "description": description, "amount_total": 1})).await;
            v1.assert_error(400, "invalid_characters");
            assert_eq!(v1.json["field"], "description", "{name}");
        }
        assert_eq!(app.sim_wechat_orders(), 0);
        // Visible text in any script is fine.
        app.create_native(&json!({"out_trade_no": "order_bidi_3", "description": "VIP月卡 — שלום 🎉", "amount_total": 1}))
            .await.assert_ok();
    }

    async fn an_attach_with_a_nul_or_invisible_characters_is_a_clear_error_on_both_databases(app: TestApp) {
        // A NUL byte used to reach PostgreSQL, which refused it: a 500 for a client's mistake.
        for (n, attach) in ["ab\u{0}c", "x\u{202E}y"].into_iter().enumerate() {
            let reply = app.create_order(&json!({"out_trade_no": format!("order_attach_{n}"), "channel": "wechat",
                "method": "native", "description": "x", "amount_total": 1, "attach": attach})).await;
            reply.assert_error(400, "invalid_characters");
            assert_eq!(reply.json["field"], "attach");
        }
        app.create_order(&json!({"out_trade_no": "order_attach_ok", "channel": "wechat", "method": "native",
            "description": "x", "amount_total": 1, "attach": "user=1&plan=vip"})).await.assert_ok();
    }
}
