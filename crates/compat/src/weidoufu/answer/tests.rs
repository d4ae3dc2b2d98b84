use serde_json::{Value, json};

use super::*;

fn to_json<T: Serialize>(answer: &T) -> Value {
    serde_json::to_value(answer).unwrap()
}

const SEED_ORDER: Placed<'static> = Placed {
    mch_trade_no: "202105135513716648486662",
    out_order_no: "180901620895069445",
};

#[test]
fn a_wechat_mini_program_success_is_the_seed_example() {
    let answer = miniapp_success(
        SEED_ORDER,
        Jsapi::WeChat(WeChatJsapi {
            app_id: "wx369ab4160391bvbgg".into(),
            timestamp: "1620895076".into(),
            nonce_str: "82aafec92844bd7b7575e5d642911ac9".into(),
            package: "prepay_id=wx1316375652779615245693f173dedb0000".into(),
            sign_type: "MD5".into(),
            pay_sign: "E1BDB03ECDC44F48CE1D4D353819318A".into(),
        }),
    );
    assert_eq!(
        to_json(&answer),
        json!({
            "code": 1,
            "message": "成功",
            "data": {
                "mch_trade_no": "202105135513716648486662",
                "out_order_no": "180901620895069445",
                "jsapi": {
                    "app_id": "wx369ab4160391bvbgg",
                    "timestamp": "1620895076",
                    "nonce_str": "82aafec92844bd7b7575e5d642911ac9",
                    "package": "prepay_id=wx1316375652779615245693f173dedb0000",
                    "sign_type": "MD5",
                    "pay_sign": "E1BDB03ECDC44F48CE1D4D353819318A"
                }
            }
        })
    );
}

#[test]
fn an_alipay_mini_program_success_carries_only_the_trade_number() {
    let answer = miniapp_success(
        SEED_ORDER,
        Jsapi::Alipay {
            trade_no: "20211127220461494775747063371".into(),
        },
    );
    assert_eq!(
        to_json(&answer),
        json!({
            "code": 1,
            "message": "成功",
            "data": {
                "mch_trade_no": "202105135513716648486662",
                "out_order_no": "180901620895069445",
                "jsapi": {"trade_no": "20211127220461494775747063371"}
            }
        })
    );
}

#[test]
fn a_mini_program_failure_has_code_0_and_an_empty_jsapi() {
    let answer = miniapp_failure(
        Placed {
            mch_trade_no: "202105135513716100622151",
            out_order_no: "1809016208199613140",
        },
        "签名错误",
    );
    assert_eq!(
        to_json(&answer),
        json!({
            "code": 0,
            "message": "签名错误",
            "data": {
                "mch_trade_no": "202105135513716100622151",
                "out_order_no": "1809016208199613140",
                "jsapi": ""
            }
        })
    );
}

#[test]
fn a_native_answer_carries_the_code_url_and_a_status() {
    let answer = native_success(SEED_ORDER, "weixin://wxpay/bizpayurl?pr=XIKYjUK", None);
    assert_eq!(
        to_json(&answer),
        json!({
            "code": 1,
            "message": "成功",
            "status": "success",
            "data": {
                "mch_trade_no": "202105135513716648486662",
                "out_order_no": "180901620895069445",
                "code_url": "weixin://wxpay/bizpayurl?pr=XIKYjUK"
            }
        })
    );
    let drawn = native_success(SEED_ORDER, "weixin://x", Some("iVBORw0KGgo="));
    assert_eq!(to_json(&drawn)["data"]["qrcode"], json!("iVBORw0KGgo="));
    let failed = native_failure(
        Placed {
            mch_trade_no: "",
            out_order_no: "",
        },
        "缺少参数 body",
    );
    assert_eq!(
        to_json(&failed),
        json!({
            "code": 0,
            "message": "缺少参数 body",
            "status": "fail",
            "data": {"mch_trade_no": "", "out_order_no": ""}
        })
    );
}

#[test]
fn a_mobile_answer_carries_the_link_that_opens_the_app() {
    let answer = mobile_success(SEED_ORDER, "https://openapi.alipay.com/gateway.do?x=1");
    assert_eq!(
        to_json(&answer),
        json!({
            "code": 1,
            "message": "成功",
            "status": "success",
            "data": {
                "mch_trade_no": "202105135513716648486662",
                "out_order_no": "180901620895069445",
                "todo_url": "https://openapi.alipay.com/gateway.do?x=1"
            }
        })
    );
    let failed = mobile_failure(SEED_ORDER, "签名错误");
    assert_eq!(to_json(&failed)["code"], json!(0));
    assert_eq!(to_json(&failed)["status"], json!("fail"));
    assert_eq!(to_json(&failed)["data"].get("todo_url"), None);
}
