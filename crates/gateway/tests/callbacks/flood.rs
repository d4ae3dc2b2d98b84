//! What junk and late callbacks cost: unverified callbacks are counted per account and window (a
//! flood is one anomaly row, not one per request) and bring an order's check forward at most once
//! every few minutes; a verified payment of an order paygate has closed is recorded as an anomaly
//! and checked with the channel, on both channels.

use gateway::channels::UpstreamStatus;
use gateway::domain::{Channel, JobSubject, Order, OrderStatus, Timestamp};
use gateway::service::{Applied, ResultSource};

use crate::api_tests;
use crate::helpers::*;
use crate::support::app::{TestApp, sandbox_keys};

const JUNK: usize = 200;

/// Closes the order in paygate only, as expiry or the site's close would have (the channel's
/// trade may be paid meanwhile).
async fn close_here(app: &TestApp, order: &Order) {
    let server = CallbackServer::spawn(app, &format!("{}/gateway.do", app.sim.base_url)).await;
    let closed = server
        .service
        .apply_upstream(order, &UpstreamStatus::Closed, ResultSource::Query)
        .await
        .unwrap();
    assert!(
        matches!(closed, Applied::Changed(ref o) if o.status == OrderStatus::Closed),
        "{closed:?}"
    );
}

/// Moves the order's check far into the future.
async fn postpone_check(app: &TestApp, order: &Order) {
    let later = Timestamp::now().as_millis() + 3_600_000;
    app.db
        .execute(&format!(
            "UPDATE jobs SET due_at = {later} WHERE kind = 'check_order' AND subject = '{}'",
            order.id.as_i64()
        ))
        .await;
}

async fn check_is_due(app: &TestApp, order: &Order) -> bool {
    let job = app
        .db
        .store
        .find_job(&JobSubject::Order(order.id))
        .await
        .unwrap()
        .unwrap();
    job.due_at <= Timestamp::now()
}

/// The unverified-callback rows of `channel` and their total count.
async fn unverified(app: &TestApp, channel: Channel) -> (usize, i64) {
    let rows: Vec<_> = anomalies(app, "callback_unverified")
        .await
        .into_iter()
        .filter(|a| a.channel == channel)
        .collect();
    (rows.len(), rows.iter().map(|a| a.occurrences).sum())
}

api_tests! {
    async fn a_flood_of_junk_wechat_callbacks_is_one_counted_anomaly(app: TestApp) {
        let order = wechat_order(&app, "flood_wx").await;
        let body = wechat_envelope(&transaction(&order, 2990));
        let mut headers = sign_wechat(&app, &body, now_ts());
        headers = with_header(&headers, "Wechatpay-Signature", "AAAA");
        let answers = post_wechat_concurrently(&app, &sandbox_keys().wechat_mchid, &headers, &body, JUNK).await;
        assert!(answers.iter().all(|a| a.status == 401));
        let (rows, count) = unverified(&app, Channel::Wechat).await;
        // One row per window; a window may end during the flood.
        assert!(rows <= 2, "{rows} rows");
        assert_eq!(count, i64::try_from(JUNK).unwrap());
        assert_eq!(app.stored_status(&app.site, "flood_wx").await, OrderStatus::Pending);
    }

    async fn a_flood_of_junk_alipay_notifications_is_one_counted_anomaly_and_one_early_check(app: TestApp) {
        let order = alipay_order(&app, "flood_ali").await;
        postpone_check(&app, &order).await;
        drop_callbacks(&app, true).await;
        sim_alipay(&app, &order, "pay").await;
        let genuine = form_fields(captured(&app, "alipay", &order).await["body"].as_str().unwrap());
        let junk = form_body(&with_field(&genuine, "total_amount", "0.01"));
        let app_id = &sandbox_keys().alipay_app_id;
        // The junk comes from another address than Alipay's genuine notification, as it would.
        let attacker = reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
            .build()
            .unwrap();
        let flood = |n: usize| {
            let tasks: Vec<_> = (0..n).map(|_| {
                let (http, url, body) = (attacker.clone(), format!("{}/callbacks/alipay/{app_id}", app.base), junk.clone());
                tokio::spawn(async move {
                    http.post(url).header("content-type", "application/x-www-form-urlencoded").body(body)
                        .send().await.unwrap().status().as_u16()
                })
            }).collect();
            // Refused as unverified, or before that by the per-address limit on callbacks: both
            // change nothing; only the unverified ones are counted as anomalies.
            async move {
                let mut unverified = 0_i64;
                for t in tasks {
                    let status = t.await.unwrap();
                    assert!(status == 401 || status == 429, "{status}");
                    unverified += i64::from(status == 401);
                }
                unverified
            }
        };
        let refused = flood(JUNK).await;
        let (rows, count) = unverified(&app, Channel::Alipay).await;
        assert!(rows <= 2, "{rows} rows");
        assert_eq!(count, refused);
        // The order it names is checked early once...
        assert!(check_is_due(&app, &order).await);
        // ...and not again for a while, however much more junk comes.
        postpone_check(&app, &order).await;
        flood(JUNK).await;
        assert!(!check_is_due(&app, &order).await);
        assert_eq!(app.stored_status(&app.site, "flood_ali").await, OrderStatus::Pending);

        // The genuine notification is not held back by the junk.
        let r = post_alipay(&app, app_id, &form_body(&genuine)).await;
        assert_eq!((r.status, r.text.as_str()), (200, "success"));
        assert_eq!(app.stored_status(&app.site, "flood_ali").await, OrderStatus::Paid);
    }

    async fn a_wechat_payment_of_a_closed_order_is_an_anomaly_and_paid_once_the_channel_confirms_it(app: TestApp) {
        let order = wechat_order(&app, "closed_wx").await;
        drop_callbacks(&app, true).await;
        app.sim_wechat_pay(&app.site, "closed_wx").await;
        let record = captured(&app, "wechat", &order).await;
        close_here(&app, &order).await;

        let r = post_wechat(&app, &sandbox_keys().wechat_mchid, &headers_of(&record), record["body"].as_str().unwrap()).await;
        assert_eq!(r.status, 204, "{}", r.text);
        // WeChat Pay answered the query with the payment: the money is the site's to deliver for
        // or refund, and the site is told.
        assert_eq!(app.stored_status(&app.site, "closed_wx").await, OrderStatus::Paid);
        let recorded = anomalies(&app, "paid_while_closed").await;
        // What the callback said, and what WeChat Pay answered when asked.
        let sources: Vec<_> = recorded.iter().map(|a| a.detail.rsplit("source ").next().unwrap().to_owned()).collect();
        assert_eq!(recorded.len(), 2, "{recorded:?}");
        assert!(sources.contains(&"callback".to_owned()) && sources.contains(&"query".to_owned()), "{sources:?}");
        assert!(recorded.iter().all(|a| a.order_id == Some(order.id) && a.channel == Channel::Wechat));
        assert_eq!(success_events(&app, &order).await, 1);

        // WeChat Pay's retries are duplicates of a recorded payment: nothing more.
        post_wechat(&app, &sandbox_keys().wechat_mchid, &headers_of(&record), record["body"].as_str().unwrap()).await;
        assert_eq!(anomalies(&app, "paid_while_closed").await.len(), 2);
        assert_eq!(success_events(&app, &order).await, 1);
    }

    async fn an_alipay_payment_of_a_closed_order_is_an_anomaly_and_paid_once_the_channel_confirms_it(app: TestApp) {
        let order = alipay_order(&app, "closed_ali").await;
        drop_callbacks(&app, true).await;
        sim_alipay(&app, &order, "pay").await;
        let genuine = captured(&app, "alipay", &order).await["body"].as_str().unwrap().to_owned();
        close_here(&app, &order).await;

        let gateway = CountingGateway::spawn(&app).await;
        let server = CallbackServer::spawn(&app, &gateway.url).await;
        let r = server.post_alipay(&app, &genuine).await;
        assert_eq!((r.status, r.text.as_str()), (200, "success"));
        assert_eq!(gateway.queries(), 1);
        assert_eq!(app.stored_status(&app.site, "closed_ali").await, OrderStatus::Paid);
        let recorded = anomalies(&app, "paid_while_closed").await;
        assert_eq!(recorded.len(), 1, "{recorded:?}");
        assert_eq!(recorded[0].order_id, Some(order.id));
        assert!(recorded[0].detail.ends_with("source query"), "{}", recorded[0].detail);
        assert_eq!(success_events(&app, &order).await, 1);
    }
}
