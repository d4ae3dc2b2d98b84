//! weidoufu's `ledger` paid out: an order names receivers the operator set up, and once it is
//! paid paygate splits it to them; a site served as a sub-merchant also pays the operator's fee
//! by profit sharing. Both reach their receivers in the WeChat Pay simulator, the site's balance
//! shows what is left, and every ledger movement sums to zero.

use gateway::compensation::{CompensationSettings, PlannedSplitter, SplitChecker};
use gateway::domain::{
    ActedBy, Actor, CompatKey, FeeSchedule, Job, JobSubject, OrderStatus, OutSplitNo,
    ReceiverAccount, ReceiverName, ReceiverType, Site, SiteReceiver, SplitPurpose, SplitStatus,
    SubMchid, Timestamp, WechatSubMerchant,
};
use gateway::service::{OrderService, ServiceSettings, SiteService};
use gateway::store::SiteUpdate;
use serde_json::{Value, json};

use super::weidoufu::{assert_refused, enable_weidoufu, pay};
use crate::api_tests;
use crate::support::app::{Signing, TestApp, sandbox_keys};

const SUB_MCHID: &str = "1900000109";
/// The ledger's receiver: another merchant the operator set up for the site.
const RECEIVER: &str = "1900000110";

fn sites(app: &TestApp) -> SiteService {
    SiteService::new(app.db.store.clone())
}

fn cli() -> ActedBy {
    ActedBy::from(Actor::Cli)
}

/// A site with a 0.6% fee, `RECEIVER` set up for its ledgers, and weidoufu on; served as the
/// sandbox provider's sub-merchant when `sub_merchant`.
async fn site_with_fee(app: &TestApp, name: &str, sub_merchant: bool) -> (Site, CompatKey) {
    let mut site = app.another_site(name).await;
    if sub_merchant {
        let update = SiteUpdate {
            wechat_sub_merchant: Some(Some(WechatSubMerchant {
                sub_mchid: SubMchid::parse(SUB_MCHID).unwrap(),
                sub_appid: None,
            })),
            ..SiteUpdate::default()
        };
        site = sites(app)
            .update(&site.id, &update, &cli())
            .await
            .unwrap()
            .unwrap();
    }
    let fee = FeeSchedule::parse(60, 0).unwrap();
    sites(app).set_fee(&site.id, fee, &cli()).await.unwrap();
    let receiver = SiteReceiver {
        kind: ReceiverType::WechatMerchant,
        account: ReceiverAccount::parse(RECEIVER).unwrap(),
        name: ReceiverName::parse("示例分账商户").unwrap(),
    };
    assert!(
        sites(app)
            .put_receiver(&site.id, &receiver, &cli())
            .await
            .unwrap()
    );
    let key = enable_weidoufu(app, &site).await;
    (site, key)
}

/// A weidoufu QR-code order of 100.00 with a 10.00 ledger share to `sub_mch_no`.
fn native_with_ledger<'a>(
    key: &'a CompatKey,
    no: &'a str,
    sub_mch_no: &str,
) -> Vec<(&'a str, Value)> {
    vec![
        ("access_key", key.key_id.as_str().into()),
        ("body", "VIP年卡".into()),
        ("out_order_no", no.into()),
        ("pay_type", 1.into()),
        ("total_fee", 10_000.into()),
        ("notify_url", "https://shop.example/notify".into()),
        (
            "ledger",
            json!([{"amount": 1000, "sub_mch_no": sub_mch_no}])
                .to_string()
                .into(),
        ),
    ]
}

/// Pays the order in the simulator (as the sub-merchant's, when it is one) and waits until
/// paygate recorded it paid.
async fn paid(app: &TestApp, site: &Site, no: &str) {
    let order = app.stored(site, no).await;
    let mut url = format!(
        "{}/sim/wechat/orders/{}/pay?mchid={}",
        app.sim.base_url,
        order.upstream_order_no.as_str(),
        sandbox_keys().wechat_mchid
    );
    if let Some(sub) = &order.sub_merchant {
        url.push_str(&format!("&sub_mchid={}", sub.sub_mchid.as_str()));
    }
    let resp = app.http.post(url).send().await.unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
    for _ in 0..200 {
        if app.stored_status(site, no).await == OrderStatus::Paid {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("order {no} was never recorded as paid");
}

fn service(app: &TestApp) -> OrderService {
    OrderService::new(
        app.db.store.clone(),
        app.channels.clone(),
        ServiceSettings::new(app.public_url.clone()),
    )
}

/// The `split_paid_order` job the payment queued, run as the worker runs it (with no wait after
/// the payment), then each planned split's check until it has ended.
async fn planned_splits_made(app: &TestApp, site: &Site, no: &str) {
    let order = app.stored(site, no).await;
    let queued = format!(
        "SELECT COUNT(*) FROM jobs WHERE kind = 'split_paid_order' AND subject = '{}'",
        order.id.as_i64()
    );
    assert_eq!(
        app.db.count(&queued).await,
        1,
        "the payment queued its planned splits"
    );
    let job = Job {
        id: 0,
        subject: JobSubject::PaidOrder(order.id),
        due_at: Timestamp::now(),
        attempt: 0,
    };
    let splitter = PlannedSplitter::new(service(app), std::time::Duration::ZERO);
    splitter.run(&job, Timestamp::now()).await;
    let checker = SplitChecker::new(service(app), &CompensationSettings::default());
    let plan = order.split_plan.clone().unwrap();
    let planned = [
        (!plan.ledger.is_empty()).then_some(SplitPurpose::Ledger),
        plan.fee.is_some().then_some(SplitPurpose::Fee),
    ];
    for purpose in planned.into_iter().flatten() {
        // A fee already owed is not split.
        if purpose == SplitPurpose::Fee
            && app.db.store.fee_booked_at_payment(order.id).await.unwrap()
        {
            continue;
        }
        let no = purpose.split_no(order.id);
        for attempt in 0.. {
            let split = app.db.store.find_split(&site.id, &no).await.unwrap();
            let split = split.unwrap_or_else(|| panic!("no split {}", no.as_str()));
            if split.status != SplitStatus::Processing {
                break;
            }
            assert!(attempt < 200, "split {} never ended", no.as_str());
            let check = Job {
                id: 0,
                subject: JobSubject::Split(split.id),
                due_at: Timestamp::now(),
                attempt: 0,
            };
            checker.check(&check, Timestamp::now()).await;
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

async fn balance(app: &TestApp, site: &Site) -> Value {
    app.signed_as(site, "GET", "/v1/balance", "", Signing::default())
        .await
        .assert_ok()
        .clone()
}

/// Every ledger movement's entries sum to zero.
async fn ledger_balances(app: &TestApp) {
    let unbalanced = "SELECT COUNT(*) FROM (SELECT movement_id FROM ledger_entries \
                      GROUP BY movement_id HAVING SUM(amount_fen) <> 0) t";
    assert_eq!(app.db.count(unbalanced).await, 0);
}

/// What the simulator says a planned split of the order paid: (receiver account, amount) of
/// each share that succeeded.
fn sim_paid_shares(app: &TestApp, transaction_id: &str) -> Vec<(String, i64)> {
    let state = test_support::sim::state(app.sim_dir.path(), "wechat.json");
    let mut paid: Vec<(String, i64)> = state["splits"]
        .as_object()
        .unwrap()
        .values()
        .filter(|s| s["transaction_id"] == transaction_id)
        .flat_map(|s| s["parts"].as_array().unwrap().clone())
        .filter(|p| p["result"] == "SUCCESS")
        .map(|p| {
            (
                p["account"].as_str().unwrap().to_owned(),
                p["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    paid.sort();
    paid
}

api_tests! {
    async fn a_sub_merchants_ledger_order_pays_the_receiver_and_the_operators_fee(app: TestApp) {
        let (site, key) = site_with_fee(&app, "ledger-sp", true).await;
        let no = "202412010000000001";
        let (status, answer) = pay(&app, "/pay/native", &native_with_ledger(&key, no, RECEIVER), &key).await;
        assert_eq!((status, answer["code"].as_i64()), (200, Some(1)), "{answer}");
        let order = app.stored(&site, no).await;
        assert!(order.profit_sharing, "the channel must keep the money for the plan");
        let plan = order.split_plan.as_ref().unwrap();
        assert_eq!(plan.ledger.len(), 1);
        assert_eq!(plan.fee.as_ref().unwrap().account.as_str(), sandbox_keys().wechat_mchid);
        assert!(plan.unfreeze_rest);

        paid(&app, &site, no).await;
        // Paid: the fee waits for its split, so nothing is booked but the payment.
        let b = balance(&app, &site).await;
        assert_eq!((b["paid"].as_i64(), b["fees"].as_i64()), (Some(10_000), Some(0)), "{b}");

        planned_splits_made(&app, &site, no).await;
        let order = app.stored(&site, no).await;
        for purpose in [SplitPurpose::Ledger, SplitPurpose::Fee] {
            let split = app.db.store.find_split(&site.id, &purpose.split_no(order.id)).await.unwrap().unwrap();
            assert_eq!(split.status, SplitStatus::Succeeded, "{purpose:?}: {split:?}");
        }
        // Both reached their receivers at WeChat Pay, and the rest was unfrozen for the site.
        let transaction_id = order.upstream.transaction_id.clone().unwrap();
        let mut expected = vec![(RECEIVER.to_owned(), 1000), (sandbox_keys().wechat_mchid.clone(), 60)];
        expected.sort();
        assert_eq!(sim_paid_shares(&app, &transaction_id), expected);
        let partner = &app.wechat.partner.as_ref().unwrap().client;
        assert_eq!(partner.query_unsplit_amount(&transaction_id).await.unwrap().unsplit_amount, 0);

        let b = balance(&app, &site).await;
        assert_eq!(
            (b["paid"].as_i64(), b["fees"].as_i64(), b["shared"].as_i64(), b["net"].as_i64()),
            (Some(10_000), Some(60), Some(1000), Some(10_000 - 60 - 1000)),
            "{b}"
        );
        ledger_balances(&app).await;
        // The site's statement shows the same movements on the days they were booked (the day
        // of the payment, and the next should the splits have come after midnight in China).
        let day = gateway::domain::BillDay::of(order.paid_at.unwrap());
        let mut booked = (0, 0, 0);
        for d in [day, day.next()] {
            let s = app.signed_as(&site, "GET", &format!("/v1/statements/{d}"), "", Signing::default()).await;
            let s = s.assert_ok();
            booked.0 += s["balance"]["paid"].as_i64().unwrap();
            booked.1 += s["balance"]["fees"].as_i64().unwrap();
            booked.2 += s["balance"]["shared"].as_i64().unwrap();
        }
        assert_eq!(booked, (10_000, 60, 1000));
        // The site did not ask for these splits: no PROFITSHARING event is sent to it.
        assert_eq!(app.db.count("SELECT COUNT(*) FROM notification_events WHERE split_id IS NOT NULL").await, 0);

        // The job again (a crash, another node) makes no second split and books nothing more.
        let splitter = PlannedSplitter::new(service(&app), std::time::Duration::ZERO);
        let job = Job { id: 0, subject: JobSubject::PaidOrder(order.id), due_at: Timestamp::now(), attempt: 0 };
        splitter.run(&job, Timestamp::now()).await;
        assert_eq!(app.db.count("SELECT COUNT(*) FROM splits").await, 2);
        assert_eq!(balance(&app, &site).await, b);
        assert_eq!(sim_paid_shares(&app, &transaction_id), expected);
    }

    async fn a_direct_merchants_ledger_order_is_split_and_its_fee_owed_at_payment(app: TestApp) {
        let (site, key) = site_with_fee(&app, "ledger-direct", false).await;
        let no = "202412010000000002";
        let (_, answer) = pay(&app, "/pay/native", &native_with_ledger(&key, no, RECEIVER), &key).await;
        assert_eq!(answer["code"].as_i64(), Some(1), "{answer}");
        let order = app.stored(&site, no).await;
        assert!(order.split_plan.as_ref().unwrap().fee.is_none(), "a direct merchant's fee is not split");
        paid(&app, &site, no).await;
        let b = balance(&app, &site).await;
        assert_eq!(b["fees"].as_i64(), Some(60), "owed from the payment: {b}");
        planned_splits_made(&app, &site, no).await;
        let order = app.stored(&site, no).await;
        let transaction_id = order.upstream.transaction_id.clone().unwrap();
        assert_eq!(sim_paid_shares(&app, &transaction_id), vec![(RECEIVER.to_owned(), 1000)]);
        assert_eq!(app.wechat.client.query_unsplit_amount(&transaction_id).await.unwrap().unsplit_amount, 0);
        let b = balance(&app, &site).await;
        assert_eq!((b["shared"].as_i64(), b["net"].as_i64()), (Some(1000), Some(8940)), "{b}");
        ledger_balances(&app).await;
    }

    async fn a_fee_its_split_cannot_take_is_owed(app: TestApp) {
        let (site, key) = site_with_fee(&app, "ledger-refunded", true).await;
        let no = "202412010000000003";
        let request: Vec<_> = native_with_ledger(&key, no, RECEIVER).into_iter().filter(|(k, _)| *k != "ledger").collect();
        let (_, answer) = pay(&app, "/pay/native", &request, &key).await;
        assert_eq!(answer["code"].as_i64(), Some(1), "{answer}");
        paid(&app, &site, no).await;
        // Refunded in full before the fee split: nothing is left to split, so the fee is owed.
        let body = json!({"out_refund_no": "rf_all", "amount": 10_000}).to_string();
        let r = app.signed_as(&site, "POST", &format!("/v1/orders/{no}/refunds"), &body, Signing::default()).await;
        assert!(r.status == 200 || r.status == 202, "{}", r.text);
        let order = app.stored(&site, no).await;
        let splitter = PlannedSplitter::new(service(&app), std::time::Duration::ZERO);
        let job = Job { id: 0, subject: JobSubject::PaidOrder(order.id), due_at: Timestamp::now(), attempt: 0 };
        splitter.run(&job, Timestamp::now()).await;
        splitter.run(&job, Timestamp::now()).await;
        assert_eq!(app.db.count("SELECT COUNT(*) FROM splits").await, 0);
        let b = balance(&app, &site).await;
        assert_eq!(b["fees"].as_i64(), Some(60), "owed once: {b}");
        ledger_balances(&app).await;
    }

    async fn a_fee_already_owed_is_never_taken_as_well(app: TestApp) {
        let (site, key) = site_with_fee(&app, "ledger-owed-first", true).await;
        let no = "202412010000000006";
        let (_, answer) = pay(&app, "/pay/native", &native_with_ledger(&key, no, RECEIVER), &key).await;
        assert_eq!(answer["code"].as_i64(), Some(1), "{answer}");
        paid(&app, &site, no).await;
        // As after a run that could not take the fee and booked it owed, then stopped before it
        // ended: the next run makes the receivers' split, but no fee split.
        let order = app.stored(&site, no).await;
        app.db.store.book_fee_owed(&order, gateway::domain::Amount::parse(60).unwrap(), Timestamp::now()).await.unwrap();
        planned_splits_made(&app, &site, no).await;
        assert!(app.db.store.find_split(&site.id, &SplitPurpose::Fee.split_no(order.id)).await.unwrap().is_none());
        let b = balance(&app, &site).await;
        assert_eq!((b["fees"].as_i64(), b["shared"].as_i64()), (Some(60), Some(1000)), "{b}");
        ledger_balances(&app).await;
    }

    async fn when_the_receivers_split_cannot_be_made_the_rest_is_unfrozen_all_the_same(app: TestApp) {
        // 35% for the receiver: more than the 30% the sub-merchant authorised, which WeChat Pay
        // tells paygate only when the split is made.
        let (site, key) = site_with_fee(&app, "ledger-over-ratio", true).await;
        let no = "202412010000000007";
        let mut request = native_with_ledger(&key, no, RECEIVER);
        request.retain(|(k, _)| *k != "ledger");
        request.push(("ledger", json!([{"amount": 3500, "sub_mch_no": RECEIVER}]).to_string().into()));
        let (_, answer) = pay(&app, "/pay/native", &request, &key).await;
        assert_eq!(answer["code"].as_i64(), Some(1), "{answer}");
        paid(&app, &site, no).await;
        let order = app.stored(&site, no).await;
        let splitter = PlannedSplitter::new(service(&app), std::time::Duration::ZERO);
        let job = Job { id: 0, subject: JobSubject::PaidOrder(order.id), due_at: Timestamp::now(), attempt: 0 };
        splitter.run(&job, Timestamp::now()).await;
        assert!(app.db.store.find_split(&site.id, &SplitPurpose::Ledger.split_no(order.id)).await.unwrap().is_none());
        assert!(app.db.store.find_split(&site.id, &SplitPurpose::Fee.split_no(order.id)).await.unwrap().is_some());
        let transaction_id = order.upstream.transaction_id.clone().unwrap();
        let partner = &app.wechat.partner.as_ref().unwrap().client;
        assert_eq!(partner.query_unsplit_amount(&transaction_id).await.unwrap().unsplit_amount, 0);
    }

    async fn a_ledger_naming_a_receiver_the_operator_did_not_set_up_is_refused(app: TestApp) {
        let (site, key) = site_with_fee(&app, "ledger-unknown", true).await;
        let no = "202412010000000004";
        let (status, answer) = pay(&app, "/pay/native", &native_with_ledger(&key, no, "1900000111"), &key).await;
        assert_refused(status, &answer, 400, "分账接收方 1900000111 未由平台登记，无法分账");
        assert!(app.db.store.find_order(&site.id, &gateway::domain::OutTradeNo::parse(no).unwrap()).await.unwrap().is_none());
        // Named twice is refused too.
        let mut twice = native_with_ledger(&key, no, RECEIVER);
        twice.retain(|(k, _)| *k != "ledger");
        let ledger = json!([{"amount": 100, "sub_mch_no": RECEIVER}, {"amount": 100, "sub_mch_no": RECEIVER}]).to_string();
        twice.push(("ledger", ledger.into()));
        let (status, answer) = pay(&app, "/pay/native", &twice, &key).await;
        assert_refused(status, &answer, 400, "分账信息 ledger 中的接收方不能重复，且至多 50 个");
        // The ledger and the operator's 0.6% fee together may not take more than the order.
        let mut all = native_with_ledger(&key, no, RECEIVER);
        all.retain(|(k, _)| *k != "ledger");
        all.push(("ledger", json!([{"amount": 10_000, "sub_mch_no": RECEIVER}]).to_string().into()));
        let (status, answer) = pay(&app, "/pay/native", &all, &key).await;
        assert_refused(status, &answer, 400, "分账金额与平台服务费合计超过订单金额");
        // A direct merchant may split at most 30% away: a larger ledger is refused up front.
        let (direct, direct_key) = site_with_fee(&app, "ledger-direct-ratio", false).await;
        let mut over = native_with_ledger(&direct_key, no, RECEIVER);
        over.retain(|(k, _)| *k != "ledger");
        over.push(("ledger", json!([{"amount": 3001, "sub_mch_no": RECEIVER}]).to_string().into()));
        let (status, answer) = pay(&app, "/pay/native", &over, &direct_key).await;
        assert_refused(status, &answer, 400, "微信支付分账金额合计不能超过订单金额的 30%");
        let mut at_cap = over.clone();
        at_cap.retain(|(k, _)| *k != "ledger");
        at_cap.push(("ledger", json!([{"amount": 3000, "sub_mch_no": RECEIVER}]).to_string().into()));
        let (_, answer) = pay(&app, "/pay/native", &at_cap, &direct_key).await;
        assert_eq!(answer["code"].as_i64(), Some(1), "{answer}");
        assert!(app.db.store.find_order(&direct.id, &gateway::domain::OutTradeNo::parse(no).unwrap()).await.unwrap().is_some());
    }

    async fn a_site_cannot_take_or_read_another_sites_planned_split_numbers(app: TestApp) {
        let (site, key) = site_with_fee(&app, "ledger-numbers", true).await;
        let no = "202412010000000005";
        let (_, answer) = pay(&app, "/pay/native", &native_with_ledger(&key, no, RECEIVER), &key).await;
        assert_eq!(answer["code"].as_i64(), Some(1), "{answer}");
        paid(&app, &site, no).await;
        let order = app.stored(&site, no).await;
        // A site may not choose a number of paygate's own splits, even for its own order.
        let body = json!({"out_split_no": format!("pg-fee-{}", order.id.as_i64()),
            "receivers": [{"type": "PERSONAL_OPENID", "account": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "amount": 1}]});
        let r = app.signed_as(&site, "POST", &format!("/v1/orders/{no}/splits"), &body.to_string(), Signing::default()).await;
        assert_eq!((r.status, r.json["field"].as_str()), (400, Some("out_split_no")), "{}", r.text);
        // Nor split (or unfreeze) the order itself before the operator's fee is split from it.
        let own = json!({"out_split_no": "site_first", "unfreeze_rest": true,
            "receivers": [{"type": "PERSONAL_OPENID", "account": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "amount": 100}]});
        let r = app.signed_as(&site, "POST", &format!("/v1/orders/{no}/splits"), &own.to_string(), Signing::default()).await;
        r.assert_error(409, "order_not_splittable");
        planned_splits_made(&app, &site, no).await;
        // The site reads its planned splits; another site finds nothing under the same number.
        let path = format!("/v1/splits/{}", SplitPurpose::Ledger.split_no(order.id).as_str());
        let mine = app.signed_as(&site, "GET", &path, "", Signing::default()).await;
        assert_eq!(mine.assert_ok()["status"], "succeeded");
        let theirs = app.signed_as(&app.site, "GET", &path, "", Signing::default()).await;
        assert_eq!(theirs.status, 404, "{}", theirs.text);
        assert!(OutSplitNo::parse(SplitPurpose::Fee.split_no(order.id).as_str()).is_err());
    }
}
