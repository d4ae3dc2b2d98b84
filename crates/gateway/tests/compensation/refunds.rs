//! Refunds whose outcome paygate did not hear: the channel's notification was dropped, its answer
//! was unclear, or paygate stopped before sending the refund at all. The `check_refund` job finds
//! out, sends what the channel never got, and ends each refund once, never taking an unclear
//! answer for a failure.

use gateway::channels::RefundState;
use gateway::domain::{
    Amount, EventType, JobSubject, Order, OrderStatus, OutRefundNo, Refund, RefundRequest,
    RefundStatus, RefundWindows, Timestamp,
};
use gateway::service::{ServiceError, Taken, take_refund};
use serde_json::json;

use crate::api_tests;
use crate::harness::{
    Workers, alipay_order, eventually, service, sim_alipay_pay, sim_alipay_trade, status,
    wechat_order,
};
use crate::support::app::{TestApp, sandbox_keys};

const PAID: i64 = 2990;

fn request(no: &str, fen: i64) -> RefundRequest {
    RefundRequest {
        out_refund_no: OutRefundNo::parse(no).unwrap(),
        amount: Amount::parse(fen).unwrap(),
        reason: None,
        notify_url: None,
    }
}

/// Makes the simulated WeChat Pay keep refunds `PROCESSING` until the test settles them (the
/// test app's simulator ends them on its own a moment later, like the real one mostly does).
async fn settled_by_hand(app: &TestApp) {
    gateway::sandbox::provision::provision(
        &app.sim.base_url,
        sandbox_keys(),
        &app.public_url,
        gateway::sandbox::provision::SimRefunds::WaitForControl,
    )
    .await
    .unwrap();
}

/// A WeChat Native order the payer paid, its payment recorded from the channel's callback.
async fn paid_wechat(app: &TestApp, no: &str) -> Order {
    settled_by_hand(app).await;
    let order = wechat_order(app, no).await;
    app.sim_wechat_pay(&app.site, no).await;
    eventually("the payment recorded", || async {
        status(app, &order).await == OrderStatus::Paid
    })
    .await;
    app.stored(&app.site, no).await
}

async fn paid_alipay(app: &TestApp, no: &str) -> Order {
    let order = alipay_order(app, no, "qr").await;
    sim_alipay_pay(app, &order).await;
    eventually("the payment recorded", || async {
        status(app, &order).await == OrderStatus::Paid
    })
    .await;
    app.stored(&app.site, no).await
}

/// Refunds through the service, as the API does: stored, sent, the answer recorded.
async fn refund(app: &TestApp, order: &Order, no: &str, fen: i64) -> Refund {
    service(app)
        .refund(&app.site, &order.out_trade_no, request(no, fen))
        .await
        .unwrap()
        .refund
}

/// Stores a refund as the API does before calling out, its check due now: what a crash right
/// after the request was accepted leaves behind.
async fn accepted_then_crashed(app: &TestApp, order: &Order, no: &str, fen: i64) -> Refund {
    let now = Timestamp::now();
    let taken = take_refund(
        &app.db.store,
        &RefundWindows::default(),
        order,
        request(no, fen),
        now,
        now,
    )
    .await
    .unwrap();
    let Taken::New(refund) = taken else {
        panic!("{taken:?}")
    };
    refund
}

async fn current(app: &TestApp, refund: &Refund) -> Refund {
    app.db
        .store
        .find_refund(&app.site.id, &refund.out_refund_no)
        .await
        .unwrap()
        .unwrap()
}

async fn wait_for(app: &TestApp, refund: &Refund, to: RefundStatus) -> Refund {
    eventually(
        &format!("refund {} {}", refund.out_refund_no.as_str(), to.as_str()),
        || async { current(app, refund).await.status == to },
    )
    .await;
    current(app, refund).await
}

/// Ends a WeChat Pay refund in the simulator (`success`, `abnormal`, `closed`).
async fn sim_settle(app: &TestApp, refund: &Refund, outcome: &str) {
    let url = format!(
        "{}/sim/wechat/refunds/{}/{outcome}?mchid={}",
        app.sim.base_url,
        refund.upstream_refund_no.as_str(),
        sandbox_keys().wechat_mchid
    );
    let resp = app.http.post(url).send().await.unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
}

/// The types of the site's events about `refund`, oldest first.
async fn refund_events(app: &TestApp, order: &Order, refund: &Refund) -> Vec<EventType> {
    app.db
        .store
        .notifications_for_order(&app.site.id, order.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.refund.as_ref().is_some_and(|r| r.id == refund.id))
        .map(|e| e.event_type)
        .collect()
}

async fn check_job_exists(app: &TestApp, refund: &Refund) -> bool {
    app.db
        .store
        .find_job(&JobSubject::Refund(refund.id))
        .await
        .unwrap()
        .is_some()
}

async fn reserved(app: &TestApp, order: &Order) -> i64 {
    let (_, totals) = app
        .db
        .store
        .order_refund_state(&app.site.id, order.id)
        .await
        .unwrap()
        .unwrap();
    totals.reserved
}

api_tests! {
    async fn a_refund_whose_notification_was_dropped_is_settled_by_query_and_told_once(app: TestApp) {
        let order = paid_wechat(&app, "order_refund_drop").await;
        app.sim_faults(Some(json!({"drop_callbacks": true}))).await;
        let r = refund(&app, &order, "r_drop", 1000).await;
        assert_eq!(r.status, RefundStatus::Processing);
        sim_settle(&app, &r, "success").await;
        assert_eq!(current(&app, &r).await.status, RefundStatus::Processing, "the notification was dropped");

        let workers = Workers::start(&app);
        let done = wait_for(&app, &r, RefundStatus::Succeeded).await;
        // Later checks, had the job survived, would find nothing more to do.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        workers.stop().await;

        assert!(done.channel_refund_id.is_some());
        assert!(done.succeeded_at.is_some());
        assert_eq!(refund_events(&app, &order, &r).await, [EventType::RefundSuccess]);
        assert!(!check_job_exists(&app, &r).await, "an ended refund is no longer checked");
        assert_eq!(status(&app, &order).await, OrderStatus::Paid, "partly refunded stays paid");
    }

    async fn a_refund_accepted_but_never_sent_is_sent_once_by_its_check_job(app: TestApp) {
        let wechat = paid_wechat(&app, "order_refund_unsent_w").await;
        let alipay = paid_alipay(&app, "order_refund_unsent_a").await;
        let rw = accepted_then_crashed(&app, &wechat, "r_unsent_w", PAID).await;
        let ra = accepted_then_crashed(&app, &alipay, "r_unsent_a", 1200).await;
        assert_eq!(app.channels.query_refund(&wechat, &rw).await.unwrap(), RefundState::NotFound);

        let workers = Workers::start(&app);
        let ended_a = wait_for(&app, &ra, RefundStatus::Succeeded).await;
        eventually("the WeChat refund sent", || async {
            !matches!(app.channels.query_refund(&wechat, &rw).await, Ok(RefundState::NotFound))
        })
        .await;
        sim_settle(&app, &rw, "success").await;
        wait_for(&app, &rw, RefundStatus::Succeeded).await;
        workers.stop().await;

        assert_eq!(status(&app, &wechat).await, OrderStatus::Refunded);
        assert_eq!(status(&app, &alipay).await, OrderStatus::Paid);
        assert!(ended_a.channel_refund_id.is_some());
        // Refunded upstream exactly once.
        let trade = sim_alipay_trade(&app, &alipay).await.unwrap();
        assert_eq!(trade["refunded_fen"], 1200, "{trade}");
        assert_eq!(refund_events(&app, &wechat, &rw).await, [EventType::RefundSuccess]);
        assert_eq!(refund_events(&app, &alipay, &ra).await, [EventType::RefundSuccess]);
    }

    async fn an_unclear_answer_is_never_a_failure(app: TestApp) {
        let order = paid_alipay(&app, "order_refund_unclear").await;
        app.sim_faults(Some(json!({"api_error_rate": 1.0}))).await;
        let r = refund(&app, &order, "r_unclear", 500).await;
        assert_eq!(r.status, RefundStatus::Processing, "a 5xx is not a refusal");

        let workers = Workers::start(&app);
        // Several checks meet the same outage: the refund stays processing, its amount reserved.
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        assert_eq!(current(&app, &r).await.status, RefundStatus::Processing);
        assert_eq!(reserved(&app, &order).await, 500);
        app.sim_faults(None).await;
        wait_for(&app, &r, RefundStatus::Succeeded).await;
        workers.stop().await;
        assert_eq!(sim_alipay_trade(&app, &order).await.unwrap()["refunded_fen"], 500);
    }

    async fn a_refund_the_channel_closes_fails_and_its_amount_can_be_refunded_again(app: TestApp) {
        let order = paid_wechat(&app, "order_refund_closed").await;
        app.sim_faults(Some(json!({"drop_callbacks": true}))).await;
        let first = refund(&app, &order, "r_closed", PAID).await;
        sim_settle(&app, &first, "closed").await;
        let workers = Workers::start(&app);
        let failed = wait_for(&app, &first, RefundStatus::Failed).await;
        assert!(failed.upstream_error.is_some());
        assert_eq!(reserved(&app, &order).await, 0, "a failed refund frees its amount");
        assert_eq!(refund_events(&app, &order, &first).await, [EventType::RefundClosed]);

        let again = refund(&app, &order, "r_closed_again", PAID).await;
        assert_eq!(again.status, RefundStatus::Processing);
        sim_settle(&app, &again, "success").await;
        wait_for(&app, &again, RefundStatus::Succeeded).await;
        workers.stop().await;
        assert_eq!(status(&app, &order).await, OrderStatus::Refunded);
    }

    async fn a_refund_the_channel_refuses_fails_at_once(app: TestApp) {
        // Someone refunded the whole payment in the merchant portal, behind paygate's back: the
        // channel refuses paygate's refund, which fails and holds nothing.
        for order in [paid_wechat(&app, "order_refund_refused_w").await, paid_alipay(&app, "order_refund_refused_a").await] {
            let portal = accepted_then_crashed(&app, &order, &format!("portal_{}", order.id.as_i64()), PAID).await;
            app.channels.refund(&order, &portal).await.unwrap();
            // paygate forgets it: as far as it knows, nothing was refunded.
            app.db.execute(&format!("DELETE FROM jobs WHERE kind = 'check_refund' AND subject = '{}'", portal.id)).await;
            app.db.execute(&format!("DELETE FROM refunds WHERE id = {}", portal.id)).await;
            app.db.execute(&format!("UPDATE orders SET refund_reserved_fen = 0 WHERE id = {}", order.id.as_i64())).await;

            let r = refund(&app, &order, &format!("r_refused_{}", order.id.as_i64()), 100).await;
            assert_eq!(r.status, RefundStatus::Failed, "{r:?}");
            assert!(r.upstream_error.is_some());
            assert_eq!(reserved(&app, &order).await, 0);
            assert_eq!(refund_events(&app, &order, &r).await, [EventType::RefundClosed]);
        }
    }

    async fn a_refused_retry_of_a_refund_the_channel_already_has_does_not_fail_it(app: TestApp) {
        let order = paid_wechat(&app, "order_refund_retry_refused").await;
        // Sent once and taken by the channel, but paygate never heard its answer.
        let r = accepted_then_crashed(&app, &order, "r_retry_refused", PAID).await;
        app.channels.refund(&order, &r).await.unwrap();
        // The site retries while the channel is limiting calls: "too many requests" says nothing
        // about the refund the channel already has, whose money is on its way to the payer.
        app.sim_faults(Some(json!({"api_rate_limit_rate": 1.0}))).await;
        let again = refund(&app, &order, "r_retry_refused", PAID).await;
        assert_eq!(again.status, RefundStatus::Processing, "{again:?}");
        assert_eq!(reserved(&app, &order).await, PAID, "nothing freed to be refunded twice");
        assert_eq!(refund_events(&app, &order, &r).await, []);

        app.sim_faults(None).await;
        sim_settle(&app, &r, "success").await;
        wait_for(&app, &r, RefundStatus::Succeeded).await;
        assert_eq!(status(&app, &order).await, OrderStatus::Refunded);
        assert_eq!(refund_events(&app, &order, &r).await, [EventType::RefundSuccess]);
    }

    async fn an_abnormal_refund_keeps_its_amount_reserved(app: TestApp) {
        let order = paid_wechat(&app, "order_refund_abnormal").await;
        let r = refund(&app, &order, "r_abnormal", PAID).await;
        sim_settle(&app, &r, "abnormal").await;
        // Told by the REFUND.ABNORMAL notification this time.
        let ended = wait_for(&app, &r, RefundStatus::Abnormal).await;
        assert!(ended.succeeded_at.is_none());
        assert_eq!(reserved(&app, &order).await, PAID);
        assert_eq!(refund_events(&app, &order, &r).await, [EventType::RefundAbnormal]);
        assert_eq!(status(&app, &order).await, OrderStatus::Paid);
        let more = service(&app).refund(&app.site, &order.out_trade_no, request("r_more", 1)).await;
        assert!(matches!(more, Err(ServiceError::RefundExceedsPaid { refundable: 0 })), "{more:?}");
    }

    async fn the_check_job_of_an_ended_refund_changes_nothing(app: TestApp) {
        let order = paid_alipay(&app, "order_refund_settled").await;
        let r = refund(&app, &order, "r_settled", 700).await;
        assert_eq!(r.status, RefundStatus::Succeeded, "Alipay answers at once");
        assert!(!check_job_exists(&app, &r).await);
        // A job left over from a race with the answer finds the refund ended and stops.
        app.db.execute(&format!("INSERT INTO jobs (kind, subject, due_at, attempt) VALUES ('check_refund', '{}', 0, 0)", r.id)).await;
        let workers = Workers::start(&app);
        eventually("the leftover job done", || async { !check_job_exists(&app, &r).await }).await;
        workers.stop().await;
        assert_eq!(current(&app, &r).await, r);
        assert_eq!(sim_alipay_trade(&app, &order).await.unwrap()["refunded_fen"], 700);
    }
}
