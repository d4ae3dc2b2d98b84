//! What goes wrong: missing payer fields, methods not configured, faults with unknown outcomes.

use gateway::channels::{ChannelError, Channels, UpstreamStatus, WechatAppIds};
use gateway::domain::{Channel, PayMethod, Payer};
use serde_json::json;

use crate::support::env;

#[tokio::test]
async fn a_missing_payer_field_is_invalid_and_nothing_reaches_the_channel() {
    let env = env().await;
    for method in [
        "wechat.jsapi",
        "wechat.miniapp",
        "wechat.h5",
        "alipay.jsapi",
        "alipay.miniapp",
    ] {
        let order = env.order_with(method, Payer::default()).await;
        let err = env.channels.create(&order).await.unwrap_err();
        assert!(matches!(err, ChannelError::Invalid(_)), "{method}: {err:?}");
        // Nothing stored upstream yet, so no pay parameters either.
        assert!(matches!(
            env.channels.pay_params(&order),
            Err(ChannelError::Invalid(_))
        ));
    }
    assert_eq!(env.sim_orders(), (0, 0));
}

#[tokio::test]
async fn a_channel_or_appid_not_configured_is_not_configured() {
    let env = env().await;
    let mut wechat = env.wechat.clone();
    wechat.appids = WechatAppIds {
        mp: wechat.appids.mp.clone(),
        miniapp: None,
        app: None,
    };
    let only_wechat = Channels::new(Some(wechat), None);
    let supported: Vec<String> = only_wechat
        .supported()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(supported, ["wechat.native", "wechat.jsapi", "wechat.h5"]);
    for method in ["alipay.qr", "alipay.wap", "wechat.miniapp", "wechat.app"] {
        let order = env.order(method).await;
        assert!(!only_wechat.supports(order.pay_method));
        let err = only_wechat.create(&order).await.unwrap_err();
        assert!(
            matches!(err, ChannelError::NotConfigured(m) if m == order.pay_method),
            "{method}: {err:?}"
        );
        assert!(matches!(
            only_wechat.query(&order).await,
            Err(ChannelError::NotConfigured(_))
        ));
    }
    let none = Channels::new(None, None);
    assert!(PayMethod::all().into_iter().all(|m| !none.supports(m)));
    assert_eq!(env.channels.supported(), PayMethod::all());
}

#[tokio::test]
async fn a_simulator_fault_is_an_unknown_outcome_resolved_by_query() {
    let env = env().await;
    let wechat = env.order("wechat.native").await;
    let alipay = env.order("alipay.qr").await;
    env.faults(json!({"api_error_rate": 1.0})).await;
    for (order, channel) in [(&wechat, Channel::Wechat), (&alipay, Channel::Alipay)] {
        let err = env.channels.create(order).await.unwrap_err();
        assert!(err.is_outcome_unknown(), "{err:?}");
        assert!(
            matches!(&err, ChannelError::Unknown { channel: c, .. } if *c == channel),
            "{err:?}"
        );
        assert!(
            env.channels
                .query(order)
                .await
                .unwrap_err()
                .is_outcome_unknown()
        );
    }
    env.faults(json!({"api_error_rate": 0.0})).await;
    // The query settles it: the failed calls never created anything.
    for order in [&wechat, &alipay] {
        assert_eq!(
            env.channels.query(order).await.unwrap(),
            UpstreamStatus::NotFound
        );
        // And the retry goes through with the same content.
        env.channels.create(order).await.unwrap();
        assert_eq!(
            env.channels.query(order).await.unwrap(),
            UpstreamStatus::NotPaid
        );
    }
}

#[tokio::test]
async fn error_messages_never_carry_keys() {
    let env = env().await;
    let order = env.order("wechat.native").await;
    env.faults(json!({"api_error_rate": 1.0})).await;
    let err = env.channels.create(&order).await.unwrap_err();
    let shown = format!("{err} {err:?} {:?} {:?}", env.channels, env.keys);
    for secret in [env.keys.wechat_apiv3_key.as_str(), "PRIVATE KEY"] {
        assert!(!shown.contains(secret), "{shown}");
    }
}
