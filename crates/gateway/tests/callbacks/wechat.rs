//! `POST /callbacks/wechat/{mchid}`.

use gateway::domain::{OrderStatus, RefundStatus, Timestamp};
use gateway::store::RefundFinish;

use crate::api_tests;
use crate::helpers::*;
use crate::support::app::{TestApp, sandbox_keys};

api_tests! {
    async fn a_payment_in_the_simulator_pays_the_order_through_its_real_callback(app: TestApp) {
        let order = wechat_order(&app, "cb_wx_paid").await;
        app.sim_wechat_pay(&app.site, "cb_wx_paid").await;
        let paid = wait_status(&app, "cb_wx_paid", OrderStatus::Paid).await;
        let tx = paid.upstream.transaction_id.clone().expect("transaction_id recorded");
        assert!(tx.starts_with("42"), "{tx}");
        assert!(paid.paid_at.is_some());
        assert_eq!(success_events(&app, &order).await, 1);
        // The simulator was answered 204 at once: delivered, one attempt.
        let log = wait_settled(&app, "wechat", &order).await;
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!(log[0]["state"], "delivered", "{:?}", log[0]);
        assert_eq!(log[0]["attempts"][0]["status"], 204);
        assert!(metrics(&app).await.contains(r#"paygate_callbacks_total{channel="wechat",outcome="applied"}"#));
    }

    async fn a_replayed_callback_is_answered_204_and_changes_nothing(app: TestApp) {
        let order = wechat_order(&app, "cb_wx_replay").await;
        app.sim_wechat_pay(&app.site, "cb_wx_replay").await;
        let paid = wait_status(&app, "cb_wx_replay", OrderStatus::Paid).await;
        let record = captured(&app, "wechat", &order).await;
        let body = record["body"].as_str().unwrap();
        for _ in 0..3 {
            let r = post_wechat(&app, &sandbox_keys().wechat_mchid, &headers_of(&record), body).await;
            assert_eq!(r.status, 204, "{}", r.text);
            assert!(r.text.is_empty());
        }
        let after = app.stored(&app.site, "cb_wx_replay").await;
        assert_eq!(after, paid);
        assert_eq!(success_events(&app, &order).await, 1);
        assert_eq!(payments_booked(&app, &order).await, 1);
    }

    async fn concurrent_duplicates_pay_once(app: TestApp) {
        let order = wechat_order(&app, "cb_wx_race").await;
        // The simulator logs the callback without sending it; the test delivers it 12 times at once.
        drop_callbacks(&app, true).await;
        app.sim_wechat_pay(&app.site, "cb_wx_race").await;
        let record = captured(&app, "wechat", &order).await;
        let headers = headers_of(&record);
        let body = record["body"].as_str().unwrap().to_owned();
        let answers = post_wechat_concurrently(&app, &sandbox_keys().wechat_mchid, &headers, &body, 12).await;
        for r in &answers {
            assert_eq!(r.status, 204, "{}", r.text);
        }
        let paid = app.stored(&app.site, "cb_wx_race").await;
        assert_eq!(paid.status, OrderStatus::Paid);
        assert_eq!(success_events(&app, &order).await, 1);
        assert_eq!(payments_booked(&app, &order).await, 1);
        let history = app.db.count(&format!(
            "SELECT COUNT(*) FROM order_events WHERE order_id = {} AND to_status = 'paid'", order.id.as_i64())).await;
        assert_eq!(history, 1);
    }

    async fn a_forged_callback_is_refused_recorded_and_changes_nothing(app: TestApp) {
        let order = wechat_order(&app, "cb_wx_forged").await;
        drop_callbacks(&app, true).await;
        app.sim_wechat_pay(&app.site, "cb_wx_forged").await;
        let record = captured(&app, "wechat", &order).await;
        let headers = headers_of(&record);
        let body = record["body"].as_str().unwrap();
        let mchid = &sandbox_keys().wechat_mchid;

        // Another body under the real signature.
        let tampered = body.replacen("TRANSACTION.SUCCESS", "TRANSACTION.SUCCESS ", 1);
        post_wechat(&app, mchid, &headers, &tampered).await.assert_wechat_fail(401);
        // A signature made with some other key.
        let forger = channel_core::RsaPrivateKey::generate().unwrap();
        let ts = headers.iter().find(|(k, _)| k == "Wechatpay-Timestamp").unwrap().1.clone();
        let nonce = headers.iter().find(|(k, _)| k == "Wechatpay-Nonce").unwrap().1.clone();
        let forged = forger.sign_base64(format!("{ts}\n{nonce}\n{body}\n").as_bytes());
        let forged_headers = with_header(&headers, "Wechatpay-Signature", &forged);
        post_wechat(&app, mchid, &forged_headers, body).await.assert_wechat_fail(401);
        // A key id paygate does not know; no signature at all.
        post_wechat(&app, mchid, &with_header(&headers, "Wechatpay-Serial", "PUB_KEY_ID_0000000000000000000000000099"), body)
            .await.assert_wechat_fail(401);
        let unsigned: Vec<_> = headers.iter().filter(|(k, _)| k != "Wechatpay-Signature").cloned().collect();
        post_wechat(&app, mchid, &unsigned, body).await.assert_wechat_fail(401);

        let after = app.stored(&app.site, "cb_wx_forged").await;
        assert_eq!(after.status, OrderStatus::Pending);
        assert_eq!(after.upstream.transaction_id, None);
        assert_eq!(success_events(&app, &order).await, 0);
        // Counted on one row per window (a window may end between two of them).
        let recorded = anomalies(&app, "callback_unverified").await;
        assert!(recorded.len() <= 2, "{recorded:?}");
        assert_eq!(recorded.iter().map(|a| a.occurrences).sum::<i64>(), 4, "{recorded:?}");
        for a in &recorded {
            assert_eq!(a.channel, gateway::domain::Channel::Wechat);
            // Never the signature, nor the body.
            assert!(!a.detail.contains(&forged), "{}", a.detail);
            assert!(!a.detail.contains("ciphertext"), "{}", a.detail);
        }
        assert!(metrics(&app).await.contains(r#"paygate_callbacks_total{channel="wechat",outcome="unverified"}"#));

        // The genuine callback still works afterwards.
        let r = post_wechat(&app, mchid, &headers, body).await;
        assert_eq!(r.status, 204, "{}", r.text);
        assert_eq!(app.stored_status(&app.site, "cb_wx_forged").await, OrderStatus::Paid);
    }

    async fn a_stale_timestamp_is_refused_even_when_validly_signed(app: TestApp) {
        let order = wechat_order(&app, "cb_wx_stale").await;
        let body = wechat_envelope(&transaction(&order, 2990));
        let stale = sign_wechat(&app, &body, now_ts() - 600);
        let mchid = &sandbox_keys().wechat_mchid;
        post_wechat(&app, mchid, &stale, &body).await.assert_wechat_fail(401);
        assert_eq!(app.stored_status(&app.site, "cb_wx_stale").await, OrderStatus::Pending);
        let recorded = anomalies(&app, "callback_unverified").await;
        assert_eq!(recorded.len(), 1);
        assert!(recorded[0].detail.contains("timestamp"), "{}", recorded[0].detail);
        // The same callback signed now is accepted: only the timestamp made the difference.
        let fresh = sign_wechat(&app, &body, now_ts());
        let r = post_wechat(&app, mchid, &fresh, &body).await;
        assert_eq!(r.status, 204, "{}", r.text);
        let paid = app.stored(&app.site, "cb_wx_stale").await;
        assert_eq!(paid.status, OrderStatus::Paid);
        assert_eq!(paid.upstream.transaction_id.as_deref(), Some("4200000000202401300000000001"));
        // The channel's payment time, not the time paygate heard of it.
        assert_eq!(paid.paid_at.unwrap().as_millis(), 1_706_601_600_000);
    }

    async fn the_wrong_mchid_in_the_path_is_refused(app: TestApp) {
        let order = wechat_order(&app, "cb_wx_path").await;
        drop_callbacks(&app, true).await;
        app.sim_wechat_pay(&app.site, "cb_wx_path").await;
        let record = captured(&app, "wechat", &order).await;
        let r = post_wechat(&app, "1900000000", &headers_of(&record), record["body"].as_str().unwrap()).await;
        r.assert_wechat_fail(404);
        assert_eq!(app.stored_status(&app.site, "cb_wx_path").await, OrderStatus::Pending);
    }

    async fn a_signed_callback_of_another_amount_or_merchant_is_refused_as_an_anomaly(app: TestApp) {
        let order = wechat_order(&app, "cb_wx_mismatch").await;
        let mchid = &sandbox_keys().wechat_mchid;

        let body = wechat_envelope(&transaction(&order, 1));
        post_wechat(&app, mchid, &sign_wechat(&app, &body, now_ts()), &body).await.assert_wechat_fail(400);
        let amount = anomalies(&app, "amount_mismatch").await;
        assert_eq!(amount.len(), 1);
        assert_eq!(amount[0].order_id, Some(order.id));
        assert!(amount[0].detail.contains("2990") && amount[0].detail.contains(" 1 fen"), "{}", amount[0].detail);

        let mut other_merchant = transaction(&order, 2990);
        other_merchant["mchid"] = "1900009999".into();
        let body = wechat_envelope(&other_merchant);
        post_wechat(&app, mchid, &sign_wechat(&app, &body, now_ts()), &body).await.assert_wechat_fail(400);
        let mut other_app = transaction(&order, 2990);
        other_app["appid"] = "wx0000000000000000".into();
        let body = wechat_envelope(&other_app);
        post_wechat(&app, mchid, &sign_wechat(&app, &body, now_ts()), &body).await.assert_wechat_fail(400);
        assert_eq!(anomalies(&app, "merchant_mismatch").await.len(), 2);

        let after = app.stored(&app.site, "cb_wx_mismatch").await;
        assert_eq!(after.status, OrderStatus::Pending);
        assert_eq!(success_events(&app, &order).await, 0);
        assert!(metrics(&app).await.contains(r#"paygate_anomalies_total{kind="amount_mismatch",channel="wechat"}"#));
    }

    async fn a_payment_of_another_amount_in_the_simulator_is_never_recorded(app: TestApp) {
        let order = wechat_order(&app, "cb_wx_sim_amount").await;
        // paygate's record says 19.90; the channel was asked for (and is paid) 29.90.
        app.db.execute(&format!("UPDATE orders SET amount_fen = 1990 WHERE id = {}", order.id.as_i64())).await;
        app.sim_wechat_pay(&app.site, "cb_wx_sim_amount").await;
        for _ in 0..100 {
            if !anomalies(&app, "amount_mismatch").await.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let recorded = anomalies(&app, "amount_mismatch").await;
        assert!(!recorded.is_empty());
        assert_eq!(recorded[0].order_id, Some(order.id));
        // WeChat Pay was told to retry, and every retry is refused too.
        let log = sim_callbacks(&app, "wechat", &order).await;
        assert!(log[0]["attempts"].as_array().unwrap().iter().all(|a| a["success"] == false), "{log:?}");
        assert_eq!(app.stored_status(&app.site, "cb_wx_sim_amount").await, OrderStatus::Pending);
        assert_eq!(success_events(&app, &order).await, 0);
    }

    async fn a_refund_notification_for_a_refund_paygate_does_not_have_is_refused_and_recorded(app: TestApp) {
        let order = wechat_order(&app, "cb_wx_refund").await;
        let notice = refund_notice(&order, "rf_1", 2990, 2990, "SUCCESS");
        let body = refund_envelope(&notice);
        let r = post_wechat(&app, &sandbox_keys().wechat_mchid, &sign_wechat(&app, &body, now_ts()), &body).await;
        r.assert_wechat_fail(404);
        assert_eq!(anomalies(&app, "unknown_order").await.len(), 1);
        assert_eq!(app.stored_status(&app.site, "cb_wx_refund").await, OrderStatus::Pending);
    }

    async fn a_refund_notification_ends_paygates_refund_once_and_tells_the_site(app: TestApp) {
        let order = paid_wechat_order(&app, "cb_wx_refund_ok").await;
        let refund = reserve_refund(&app, &order, "r_whole", 2990).await;
        let notice = refund_notice(&order, refund.upstream_refund_no.as_str(), 2990, 2990, "SUCCESS");
        let body = refund_envelope(&notice);
        for _ in 0..2 {
            // The second is WeChat Pay retrying: received, nothing more happens.
            let r = post_wechat(&app, &sandbox_keys().wechat_mchid, &sign_wechat(&app, &body, now_ts()), &body).await;
            assert_eq!(r.status, 204, "{}", r.text);
        }
        // A late, re-ordered CLOSED for the same refund cannot undo it; the contradiction is shown
        // to the operator.
        let closed = refund_envelope(&refund_notice(&order, refund.upstream_refund_no.as_str(), 2990, 2990, "CLOSED"));
        let r = post_wechat(&app, &sandbox_keys().wechat_mchid, &sign_wechat(&app, &closed, now_ts()), &closed).await;
        assert_eq!(r.status, 204, "{}", r.text);
        assert_eq!(anomalies(&app, "refund_outcome_mismatch").await.len(), 1);
        let ended = app.db.store.find_refund(&app.site.id, &refund.out_refund_no).await.unwrap().unwrap();
        assert_eq!(ended.status, RefundStatus::Succeeded);
        assert_eq!(ended.channel_refund_id.as_deref(), Some("50000000382019052709732678859"));
        assert_eq!(app.stored_status(&app.site, "cb_wx_refund_ok").await, OrderStatus::Refunded);
        assert_eq!(
            app.db.count("SELECT COUNT(*) FROM notification_events WHERE event_type LIKE 'REFUND.%'").await,
            1
        );
    }

    async fn a_success_of_a_refund_paygate_failed_is_recorded_for_the_operator(app: TestApp) {
        let order = paid_wechat_order(&app, "cb_wx_refund_late").await;
        let refund = reserve_refund(&app, &order, "r_failed", 2990).await;
        // paygate failed it on a refusal, freeing its amount; yet the channel paid it out.
        let failed = RefundFinish {
            refund_id: refund.id,
            to: RefundStatus::Failed,
            channel_refund_id: None,
            error: Some("FREQUENCY_LIMITED: too many requests".to_owned()),
            at: Timestamp::now(),
        };
        assert!(app.db.store.finish_refund(&failed).await.unwrap().applied());
        let body = refund_envelope(&refund_notice(&order, refund.upstream_refund_no.as_str(), 2990, 2990, "SUCCESS"));
        let r = post_wechat(&app, &sandbox_keys().wechat_mchid, &sign_wechat(&app, &body, now_ts()), &body).await;
        assert_eq!(r.status, 204, "{}", r.text);
        let found = anomalies(&app, "refund_outcome_mismatch").await;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].order_id, Some(order.id));
        // Recorded, not applied: what the site was told stands until a human settles it.
        let still = app.db.store.find_refund(&app.site.id, &refund.out_refund_no).await.unwrap().unwrap();
        assert_eq!(still.status, RefundStatus::Failed);
    }

    async fn a_refund_notification_of_another_amount_or_merchant_changes_nothing(app: TestApp) {
        let order = paid_wechat_order(&app, "cb_wx_refund_bad").await;
        let refund = reserve_refund(&app, &order, "r_part", 1000).await;
        let upstream = refund.upstream_refund_no.as_str();
        let mut other_merchant = refund_notice(&order, upstream, 1000, 2990, "SUCCESS");
        other_merchant["mchid"] = "1900000109".into();
        for notice in [refund_notice(&order, upstream, 2990, 2990, "SUCCESS"), other_merchant] {
            let body = refund_envelope(&notice);
            let r = post_wechat(&app, &sandbox_keys().wechat_mchid, &sign_wechat(&app, &body, now_ts()), &body).await;
            r.assert_wechat_fail(400);
        }
        assert_eq!(anomalies(&app, "merchant_mismatch").await.len(), 2);
        let still = app.db.store.find_refund(&app.site.id, &refund.out_refund_no).await.unwrap().unwrap();
        assert_eq!(still.status, RefundStatus::Processing);
        // A forged one: its signature does not verify, and nothing changes either.
        let body = refund_envelope(&refund_notice(&order, upstream, 1000, 2990, "SUCCESS"));
        let mut headers = sign_wechat(&app, &body, now_ts());
        headers = with_header(&headers, "Wechatpay-Signature", "Zm9yZ2Vk");
        post_wechat(&app, &sandbox_keys().wechat_mchid, &headers, &body).await.assert_wechat_fail(401);
        // And one tampered with after signing.
        let headers = sign_wechat(&app, &body, now_ts());
        let tampered = body.replacen("REFUND.SUCCESS", "REFUND.SUCCESS ", 1);
        post_wechat(&app, &sandbox_keys().wechat_mchid, &headers, &tampered).await.assert_wechat_fail(401);
        let still = app.db.store.find_refund(&app.site.id, &refund.out_refund_no).await.unwrap().unwrap();
        assert_eq!(still.status, RefundStatus::Processing);
        let unverified = anomalies(&app, "callback_unverified").await;
        assert_eq!(unverified.iter().map(|a| a.occurrences).sum::<i64>(), 2, "{unverified:?}");
        assert_eq!(
            app.db.count("SELECT COUNT(*) FROM notification_events WHERE event_type LIKE 'REFUND.%'").await,
            0
        );
    }
}
