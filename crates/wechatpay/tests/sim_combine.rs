//! Combined orders (合单) against the simulator: create, pay, query, close.

mod common;

use common::{Mode, TestSim};
use serde_json::Value;
use wechatpay::{
    CombineAmount, CombineCloseSubOrder, CombineNewOrder, CombineSubOrder, Error, TradeState,
};

fn combined(m: &common::Merchant, no: &str, subs: &[(&str, i64)]) -> CombineNewOrder {
    CombineNewOrder {
        combine_appid: m.appid.clone(),
        combine_out_trade_no: no.into(),
        scene_info: None,
        sub_orders: subs
            .iter()
            .map(|(out_trade_no, fen)| CombineSubOrder {
                mchid: m.mchid.clone(),
                attach: "深圳分店".into(),
                amount: CombineAmount::cny(*fen),
                out_trade_no: (*out_trade_no).into(),
                description: "腾讯充值中心-QQ会员充值".into(),
                sub_mchid: None,
                sub_appid: None,
                detail: None,
                goods_tag: None,
                settle_info: None,
            })
            .collect(),
        time_start: None,
        time_expire: None,
        notify_url: "https://shop.example.com/wechat/notify".into(),
    }
}

#[tokio::test]
async fn combined_order_is_created_paid_and_queried() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    let order = combined(
        &m,
        "combine_0001",
        &[("sub_0001_a", 100), ("sub_0001_b", 250)],
    );
    let native = m.client.create_combine_native_order(&order).await.unwrap();
    assert!(native.code_url.starts_with("weixin://"));

    let q = m.client.query_combine_order("combine_0001").await.unwrap();
    assert_eq!(q.combine_mchid, m.mchid);
    assert_eq!(q.sub_orders.len(), 2);
    assert!(
        q.sub_orders
            .iter()
            .all(|s| s.trade_state == TradeState::Notpay)
    );

    let (status, body) = t
        .control(
            &format!("/sim/wechat/combine/combine_0001/pay?mchid={}", m.mchid),
            &Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let q = m.client.query_combine_order("combine_0001").await.unwrap();
    assert!(
        q.sub_orders
            .iter()
            .all(|s| s.trade_state == TradeState::Success),
        "{q:?}"
    );
    let totals: Vec<i64> = q.sub_orders.iter().map(|s| s.amount.total_amount).collect();
    assert_eq!(totals, vec![100, 250]);
}

#[tokio::test]
async fn combined_jsapi_app_and_h5_orders() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    let jsapi = m
        .client
        .create_combine_jsapi_order(
            &combined(&m, "combine_0002", &[("sub_0002_a", 1), ("sub_0002_b", 2)]),
            "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        )
        .await
        .unwrap();
    assert!(jsapi.prepay_id.starts_with("wx"));
    m.client
        .create_combine_app_order(&combined(
            &m,
            "combine_0003",
            &[("sub_0003_a", 1), ("sub_0003_b", 2)],
        ))
        .await
        .unwrap();
    let mut h5 = combined(&m, "combine_0004", &[("sub_0004_a", 1), ("sub_0004_b", 2)]);
    assert!(matches!(
        m.client.create_combine_h5_order(&h5).await,
        Err(Error::InvalidRequest(_))
    ));
    h5.scene_info = Some(wechatpay::SceneInfo {
        payer_client_ip: "14.17.22.32".into(),
        device_id: None,
        store_info: None,
        h5_info: Some(wechatpay::H5Info {
            kind: "Wap".into(),
            app_name: None,
            app_url: None,
            bundle_id: None,
            package_name: None,
        }),
    });
    m.client.create_combine_h5_order(&h5).await.unwrap();
}

#[tokio::test]
async fn combined_orders_close_unless_paid_and_unknown_ones_do_not_exist() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    m.client
        .create_combine_native_order(&combined(
            &m,
            "combine_0005",
            &[("sub_0005_a", 100), ("sub_0005_b", 200)],
        ))
        .await
        .unwrap();
    let subs: Vec<CombineCloseSubOrder> = ["sub_0005_a", "sub_0005_b"]
        .into_iter()
        .map(|no| CombineCloseSubOrder {
            mchid: m.mchid.clone(),
            out_trade_no: no.into(),
            sub_mchid: None,
            sub_appid: None,
        })
        .collect();
    // WeChat Pay closes only when every sub-order is listed as it was made.
    let e = m
        .client
        .close_combine_order("combine_0005", &m.appid, &subs[..1])
        .await
        .unwrap_err();
    assert!(matches!(&e, Error::Upstream { status: 400, .. }), "{e:?}");
    m.client
        .close_combine_order("combine_0005", &m.appid, &subs)
        .await
        .unwrap();
    let q = m.client.query_combine_order("combine_0005").await.unwrap();
    assert!(
        q.sub_orders
            .iter()
            .all(|s| s.trade_state == TradeState::Closed),
        "{q:?}"
    );

    // A paid combined order cannot be closed.
    m.client
        .create_combine_native_order(&combined(
            &m,
            "combine_0006",
            &[("sub_0006_a", 1), ("sub_0006_b", 2)],
        ))
        .await
        .unwrap();
    let (status, body) = t
        .control(
            &format!("/sim/wechat/combine/combine_0006/pay?mchid={}", m.mchid),
            &Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let paid_subs: Vec<CombineCloseSubOrder> = ["sub_0006_a", "sub_0006_b"]
        .into_iter()
        .map(|no| CombineCloseSubOrder {
            mchid: m.mchid.clone(),
            out_trade_no: no.into(),
            sub_mchid: None,
            sub_appid: None,
        })
        .collect();
    let e = m
        .client
        .close_combine_order("combine_0006", &m.appid, &paid_subs)
        .await
        .unwrap_err();
    assert!(matches!(&e, Error::Upstream { status: 400, .. }), "{e:?}");

    let e = m
        .client
        .query_combine_order("combine_none")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Upstream { status: 404, code, .. } if code == "ORDER_NOT_EXIST"),
        "{e:?}"
    );
}
