//! Direct and partner orders against the simulator: create, query, pay, close, and WeChat's refusals.

mod common;

use common::{Mode, TestSim, out};
use wechatpay::{
    Error, H5Info, OrderAmount, PartnerNewOrder, PartnerPayerId, SceneInfo, TradeRef, TradeState,
    TradeType,
};

const NOTIFY: &str = "https://shop.example.com/wechat/notify";

fn upstream(e: &Error) -> (u16, &str) {
    match e {
        Error::Upstream { status, code, .. } => (*status, code.as_str()),
        other => panic!("expected an upstream refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn native_order_is_created_paid_and_queried_both_ways() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    let prepay = m
        .client
        .create_native_order(&m.order("native_0001", 2990, NOTIFY))
        .await
        .unwrap();
    assert!(
        prepay.code_url.starts_with("weixin://wxpay/bizpayurl?pr="),
        "{}",
        prepay.code_url
    );

    let unpaid = m.client.query_order(&out("native_0001")).await.unwrap();
    assert_eq!(unpaid.trade_state, TradeState::Notpay);
    assert_eq!(unpaid.amount.as_ref().unwrap().total, 2990);
    assert_eq!(unpaid.transaction_id, None);

    t.pay(&m.mchid, "native_0001", None).await;
    let paid = m.client.query_order(&out("native_0001")).await.unwrap();
    assert_eq!(paid.trade_state, TradeState::Success);
    assert_eq!(paid.trade_type, Some(TradeType::Native));
    assert_eq!(paid.amount.as_ref().unwrap().payer_total, Some(2990));
    assert!(paid.success_time.is_some());
    let id = paid.transaction_id.clone().unwrap();
    let by_id = m
        .client
        .query_order(&TradeRef::TransactionId(id))
        .await
        .unwrap();
    assert_eq!(by_id, paid);
}

#[tokio::test]
async fn jsapi_h5_and_app_orders_with_invoke_parameters() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    let merchant_public = channel_core::RsaPrivateKey::from_pem(&m.key_pem)
        .unwrap()
        .public_key()
        .unwrap();

    let jsapi = m
        .client
        .create_jsapi_order(
            &m.order("jsapi_0001", 1, NOTIFY),
            "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        )
        .await
        .unwrap();
    let p = m.client.jsapi_pay_params(&m.appid, &jsapi.prepay_id);
    assert_eq!(p.package, format!("prepay_id={}", jsapi.prepay_id));
    let message = format!(
        "{}\n{}\n{}\n{}\n",
        p.app_id, p.time_stamp, p.nonce_str, p.package
    );
    merchant_public
        .verify_base64(message.as_bytes(), &p.pay_sign)
        .unwrap();

    let mut h5 = m.order("h5_000001", 1, NOTIFY);
    assert!(matches!(
        m.client.create_h5_order(&h5).await,
        Err(Error::InvalidRequest(_))
    ));
    h5.scene_info = Some(SceneInfo {
        payer_client_ip: "14.23.150.211".into(),
        device_id: None,
        store_info: None,
        h5_info: Some(H5Info {
            kind: "Wap".into(),
            app_name: None,
            app_url: None,
            bundle_id: None,
            package_name: None,
        }),
    });
    let h5 = m.client.create_h5_order(&h5).await.unwrap();
    assert!(
        h5.h5_url
            .contains("/cgi-bin/mmpayweb-bin/checkmweb?prepay_id="),
        "{}",
        h5.h5_url
    );

    let app = m
        .client
        .create_app_order(&m.order("app_000001", 1, NOTIFY))
        .await
        .unwrap();
    let a = m.client.app_pay_params(&m.appid, &app.prepay_id, None);
    assert_eq!(a.partner_id, m.mchid);
    let message = format!(
        "{}\n{}\n{}\n{}\n",
        a.app_id, a.time_stamp, a.nonce_str, a.prepay_id
    );
    merchant_public
        .verify_base64(message.as_bytes(), &a.sign)
        .unwrap();

    let jsapi_query = m.client.query_order(&out("jsapi_0001")).await.unwrap();
    assert_eq!(jsapi_query.trade_state, TradeState::Notpay);
}

#[tokio::test]
async fn time_expire_is_sent_in_wechat_format() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    let mut order = m.order("expire_0001", 100, NOTIFY);
    // Already past: the simulator closes it on the next look, as WeChat Pay does at time_expire.
    order.time_expire = Some(
        time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8))
            - time::Duration::seconds(5),
    );
    m.client.create_native_order(&order).await.unwrap();
    let q = m.client.query_order(&out("expire_0001")).await.unwrap();
    assert_eq!(q.trade_state, TradeState::Closed);
}

#[tokio::test]
async fn close_an_unpaid_order_but_not_a_paid_one() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    m.client
        .create_native_order(&m.order("close_0001", 100, NOTIFY))
        .await
        .unwrap();
    m.client.close_order("close_0001").await.unwrap();
    assert_eq!(
        m.client
            .query_order(&out("close_0001"))
            .await
            .unwrap()
            .trade_state,
        TradeState::Closed
    );

    m.client
        .create_native_order(&m.order("close_0002", 100, NOTIFY))
        .await
        .unwrap();
    t.pay(&m.mchid, "close_0002", None).await;
    let e = m.client.close_order("close_0002").await.unwrap_err();
    assert_eq!(upstream(&e), (400, "ORDERPAID"));
    assert!(!e.is_outcome_unknown());
    assert_eq!(
        m.client
            .query_order(&out("close_0002"))
            .await
            .unwrap()
            .trade_state,
        TradeState::Success
    );
}

#[tokio::test]
async fn a_reused_out_trade_no_must_carry_the_same_content() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    let first = m
        .client
        .create_native_order(&m.order("reuse_0001", 100, NOTIFY))
        .await
        .unwrap();
    let again = m
        .client
        .create_native_order(&m.order("reuse_0001", 100, NOTIFY))
        .await
        .unwrap();
    assert_eq!(
        first, again,
        "a retry with the same content gets the same answer"
    );
    let e = m
        .client
        .create_native_order(&m.order("reuse_0001", 101, NOTIFY))
        .await
        .unwrap_err();
    assert_eq!(upstream(&e), (403, "OUT_TRADE_NO_USED"));
}

#[tokio::test]
async fn unknown_orders_do_not_exist() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    let e = m.client.query_order(&out("nosuch_0001")).await.unwrap_err();
    assert_eq!(upstream(&e), (404, "ORDER_NOT_EXIST"));
    let e = m
        .client
        .query_order(&TradeRef::TransactionId(
            "4200000000000000000000000000".into(),
        ))
        .await
        .unwrap_err();
    assert_eq!(upstream(&e), (404, "ORDER_NOT_EXIST"));
    let e = m.client.close_order("nosuch_0001").await.unwrap_err();
    assert_eq!(upstream(&e), (404, "ORDER_NOT_EXIST"));
}

#[tokio::test]
async fn a_request_signed_with_the_wrong_key_is_sign_error() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    let impostor_key = channel_core::RsaPrivateKey::generate()
        .unwrap()
        .to_pkcs8_pem()
        .unwrap();
    let impostor = common::client(
        &m.mchid,
        &impostor_key,
        common::APIV3_KEY,
        wechatpay::Verification::public_key(common::public_key_of(&m.registration)),
        &m.base_url,
    );
    let e = impostor
        .create_native_order(&m.order("forged_0001", 100, NOTIFY))
        .await
        .unwrap_err();
    assert_eq!(upstream(&e), (401, "SIGN_ERROR"));
    // Nothing was created.
    let e = m.client.query_order(&out("forged_0001")).await.unwrap_err();
    assert_eq!(upstream(&e), (404, "ORDER_NOT_EXIST"));
}

#[tokio::test]
async fn a_failed_payment_is_payerror() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    m.client
        .create_native_order(&m.order("fail_00001", 100, NOTIFY))
        .await
        .unwrap();
    t.fail(&m.mchid, "fail_00001").await;
    assert_eq!(
        m.client
            .query_order(&out("fail_00001"))
            .await
            .unwrap()
            .trade_state,
        TradeState::Payerror
    );
}

#[tokio::test]
async fn partner_orders_for_a_sub_merchant() {
    let t = TestSim::start().await;
    let sp = t.register(Mode::PublicKey).await;
    let sub_mchid = "1900000109";
    t.bind_sub_merchant(&sp.mchid, sub_mchid, &["wx1234567890sub01"])
        .await;
    t.bind_sub_merchant(&sp.mchid, "1900000999", &[]).await;
    let order = |no: &str| {
        PartnerNewOrder::new(
            &sp.appid,
            sub_mchid,
            "sub-merchant goods",
            no,
            NOTIFY,
            OrderAmount::cny(500),
        )
    };

    let native = sp
        .client
        .create_partner_native_order(&order("partner_0001"))
        .await
        .unwrap();
    assert!(native.code_url.starts_with("weixin://"));
    let mut jsapi = order("partner_0002");
    jsapi.merchant.sub_appid = Some("wx1234567890sub01".into());
    let prepay = sp
        .client
        .create_partner_jsapi_order(
            &jsapi,
            &PartnerPayerId::SubOpenid("oSubOpenid0000000001".into()),
        )
        .await
        .unwrap();
    assert!(prepay.prepay_id.starts_with("wx"));
    sp.client
        .create_partner_app_order(&order("partner_0003"))
        .await
        .unwrap();

    let q = sp
        .client
        .query_partner_order(&out("partner_0001"), sub_mchid)
        .await
        .unwrap();
    assert_eq!(
        (
            q.merchant.sp_mchid.as_str(),
            q.merchant.sub_mchid.as_str(),
            q.trade_state
        ),
        (sp.mchid.as_str(), sub_mchid, TradeState::Notpay)
    );

    t.pay(&sp.mchid, "partner_0001", Some(sub_mchid)).await;
    let paid = sp
        .client
        .query_partner_order(&out("partner_0001"), sub_mchid)
        .await
        .unwrap();
    assert_eq!(paid.trade_state, TradeState::Success);
    let by_id = sp
        .client
        .query_partner_order(
            &TradeRef::TransactionId(paid.transaction_id.clone().unwrap()),
            sub_mchid,
        )
        .await
        .unwrap();
    assert_eq!(by_id, paid);

    sp.client
        .close_partner_order("partner_0003", sub_mchid)
        .await
        .unwrap();
    let closed = sp
        .client
        .query_partner_order(&out("partner_0003"), sub_mchid)
        .await
        .unwrap();
    assert_eq!(closed.trade_state, TradeState::Closed);
    let e = sp
        .client
        .close_partner_order("partner_0001", sub_mchid)
        .await
        .unwrap_err();
    assert_eq!(upstream(&e), (400, "ORDERPAID"));
    let e = sp
        .client
        .query_partner_order(&out("partner_0001"), "1900000999")
        .await
        .unwrap_err();
    assert_eq!(upstream(&e), (404, "ORDER_NOT_EXIST"));
    let e = sp
        .client
        .query_partner_order(&out("partner_0001"), "1900000888")
        .await
        .unwrap_err();
    assert_eq!(upstream(&e), (403, "NO_AUTH"), "not bound to this provider");
}
