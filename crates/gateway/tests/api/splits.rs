//! Profit sharing (分账) through the merchant API: orders made for it, split to receivers the site
//! names, driven to their end by the split check, on both channels against the simulators, which
//! keep their own account of what was split and refunded.

use std::sync::Arc;

use gateway::compensation::{CompensationSettings, SplitChecker};
use gateway::domain::{
    ActedBy, Actor, Job, JobSubject, OrderStatus, OutSplitNo, Site, SubMchid, Timestamp,
    WechatSubMerchant,
};
use gateway::service::{OrderService, ServiceSettings, SiteService};
use gateway::store::SiteUpdate;
use serde_json::{Value, json};

use crate::api_tests;
use crate::support::app::{
    Reply, Signing, TestApp, fresh_nonce, sandbox_keys, seed_sign, unix_now,
};

const OPENID: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";
const ALIPAY_USER: &str = "2088101126708402";
const SUB_MCHID: &str = "1900000109";

/// An order of 100.00 made for profit sharing on `channel` (WeChat Native or Alipay QR) by `site`,
/// paid in the simulator and recorded as paid.
async fn paid_for_sharing(app: &TestApp, site: &Site, no: &str, channel: &str) {
    let method = if channel == "wechat" { "native" } else { "qr" };
    let body = json!({"out_trade_no": no, "channel": channel, "method": method,
        "description": "VIP年卡", "amount_total": 10000, "profit_sharing": true});
    app.create_order_as(site, &body).await.assert_ok();
    let order = app.stored(site, no).await;
    assert!(order.profit_sharing);
    let url = match (channel, &order.sub_merchant) {
        ("wechat", None) => format!(
            "{}/sim/wechat/orders/{}/pay?mchid={}",
            app.sim.base_url,
            order.upstream_order_no.as_str(),
            sandbox_keys().wechat_mchid
        ),
        ("wechat", Some(sub)) => format!(
            "{}/sim/wechat/orders/{}/pay?mchid={}&sub_mchid={}",
            app.sim.base_url,
            order.upstream_order_no.as_str(),
            sandbox_keys().wechat_mchid,
            sub.sub_mchid.as_str()
        ),
        _ => format!(
            "{}/sim/alipay/trades/{}/pay?app_id={}",
            app.sim.base_url,
            order.upstream_order_no.as_str(),
            sandbox_keys().alipay_app_id
        ),
    };
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

async fn split_as(app: &TestApp, site: &Site, no: &str, body: &Value) -> Reply {
    let path = format!("/v1/orders/{no}/splits");
    app.signed_as(site, "POST", &path, &body.to_string(), Signing::default())
        .await
}

fn to_openid(out_split_no: &str, fen: i64) -> Value {
    json!({"out_split_no": out_split_no,
        "receivers": [{"type": "PERSONAL_OPENID", "account": OPENID, "amount": fen}]})
}

async fn get_split_as(app: &TestApp, site: &Site, out_split_no: &str) -> Reply {
    let path = format!("/v1/splits/{out_split_no}");
    app.signed_as(site, "GET", &path, "", Signing::default())
        .await
}

/// The split check as the worker runs it, on the split of this number, until the split has
/// ended (WeChat Pay finishes a split a moment after taking it, and says so only when asked).
async fn settled(app: &TestApp, site: &Site, out_split_no: &str) -> Value {
    let service = OrderService::new(
        app.db.store.clone(),
        app.channels.clone(),
        ServiceSettings::new(app.public_url.clone()),
    );
    let checker = SplitChecker::new(service, &CompensationSettings::default());
    let no = OutSplitNo::parse(out_split_no).unwrap();
    for _ in 0..200 {
        let split = app
            .db
            .store
            .find_split(&site.id, &no)
            .await
            .unwrap()
            .unwrap();
        let job = Job {
            id: 0,
            subject: JobSubject::Split(split.id),
            due_at: Timestamp::now(),
            attempt: 0,
        };
        checker.check(&job, Timestamp::now()).await;
        let r = get_split_as(app, site, out_split_no).await;
        if r.assert_ok()["status"] != "processing" {
            return r.json;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("split {out_split_no} never ended");
}

/// Every ledger movement's entries sum to zero.
async fn ledger_balances(app: &TestApp) {
    let unbalanced = app
        .db
        .count(
            "SELECT COUNT(*) FROM (SELECT movement_id FROM ledger_entries \
             GROUP BY movement_id HAVING SUM(amount_fen) <> 0) t",
        )
        .await;
    assert_eq!(unbalanced, 0);
}

async fn shared(app: &TestApp, site: &Site) -> i64 {
    let r = app
        .signed_as(site, "GET", "/v1/balance", "", Signing::default())
        .await;
    r.assert_ok()["shared"].as_i64().unwrap()
}

/// What WeChat Pay itself still holds unsplit of the order.
async fn sim_unsplit(app: &TestApp, site: &Site, no: &str) -> i64 {
    let order = app.stored(site, no).await;
    let transaction_id = order.upstream.transaction_id.unwrap();
    let client = match (&order.sub_merchant, &app.wechat.partner) {
        (Some(_), Some(partner)) => &partner.client,
        _ => &app.wechat.client,
    };
    client
        .query_unsplit_amount(&transaction_id)
        .await
        .unwrap()
        .unsplit_amount
}

/// What WeChat Pay itself refunded of the order: refunds that are not closed.
fn sim_refunded(app: &TestApp, upstream: &str) -> i64 {
    let state = test_support::sim::state(app.sim_dir.path(), "wechat.json");
    state["refunds"]
        .as_object()
        .map(|m| {
            m.values()
                .filter(|r| r["out_trade_no"] == upstream && r["status"] != "CLOSED")
                .map(|r| r["refund"].as_i64().unwrap())
                .sum()
        })
        .unwrap_or(0)
}

/// A signed POST sent from its own task once every task is ready.
fn racing(
    app: &TestApp,
    start: &Arc<tokio::sync::Barrier>,
    path: String,
    body: String,
) -> tokio::task::JoinHandle<Reply> {
    let (http, start) = (app.http.clone(), start.clone());
    let url = format!("{}{path}", app.base);
    let ak = app.site.access_key.as_str().to_owned();
    let sk = app.site.secret_key.expose().to_owned();
    tokio::spawn(async move {
        let (ts, nonce) = (unix_now().to_string(), fresh_nonce());
        let sign = seed_sign(&sk, &ts, &nonce, "POST", &path, body.as_bytes());
        let req = http
            .post(url)
            .header("Content-Type", "application/json")
            .header("X-1Pass-AK", ak)
            .header("X-1Pass-Ts", ts)
            .header("X-1Pass-Nonce", nonce)
            .header("X-1Pass-Sign", sign)
            .body(body);
        start.wait().await;
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            json,
            text,
            headers,
        }
    })
}

api_tests! {
    async fn a_wechat_order_is_split_to_a_receiver_and_booked(app: TestApp) {
        let no = "order_split_wx";
        paid_for_sharing(&app, &app.site, no, "wechat").await;
        let r = split_as(&app, &app.site, no, &to_openid("sp_wx_1", 1000)).await;
        let v = r.assert_ok();
        assert_eq!((v["out_split_no"].as_str(), v["out_trade_no"].as_str()), (Some("sp_wx_1"), Some(no)));
        assert_eq!(v["amount"], 1000);
        assert_ne!(v["status"], "failed", "{v}");

        let v = settled(&app, &app.site, "sp_wx_1").await;
        assert_eq!(v["status"], "succeeded", "{v}");
        assert_eq!(v["receivers"][0]["result"], "succeeded", "{v}");
        assert_eq!(v["receivers"][0]["account"], OPENID);
        assert!(v["channel_split_id"].is_string() && v["finished_at"].is_string(), "{v}");

        // WeChat Pay has the split: 10.00 of 100.00 went out.
        assert_eq!(sim_unsplit(&app, &app.site, no).await, 9000);
        assert_eq!(shared(&app, &app.site).await, 1000);
        ledger_balances(&app).await;
        let events = app
            .db
            .count(
                "SELECT COUNT(*) FROM notification_events e JOIN splits s ON s.id = e.split_id \
                 WHERE s.out_split_no = 'sp_wx_1' AND e.event_type = 'PROFITSHARING.SUCCESS'",
            )
            .await;
        assert_eq!(events, 1);
        // Checking it again changes nothing: booked once, told once.
        settled(&app, &app.site, "sp_wx_1").await;
        assert_eq!(shared(&app, &app.site).await, 1000);
    }

    async fn wechat_splits_beyond_the_ratio_are_refused_before_any_call(app: TestApp) {
        let no = "order_split_ratio";
        paid_for_sharing(&app, &app.site, no, "wechat").await;
        let r = split_as(&app, &app.site, no, &to_openid("sp_ratio_1", 3001)).await;
        r.assert_error(409, "split_ratio_exceeded");
        get_split_as(&app, &app.site, "sp_ratio_1").await.assert_error(404, "split_not_found");
        assert_eq!(sim_unsplit(&app, &app.site, no).await, 10000, "nothing reached WeChat Pay");

        // 30.00 is the limit, over two splits as well as one.
        split_as(&app, &app.site, no, &to_openid("sp_ratio_2", 2000)).await.assert_ok();
        split_as(&app, &app.site, no, &to_openid("sp_ratio_3", 1001)).await.assert_error(409, "split_ratio_exceeded");
        split_as(&app, &app.site, no, &to_openid("sp_ratio_4", 1000)).await.assert_ok();
        for out in ["sp_ratio_2", "sp_ratio_4"] {
            assert_eq!(settled(&app, &app.site, out).await["status"], "succeeded");
        }
        assert_eq!(sim_unsplit(&app, &app.site, no).await, 7000);
    }

    async fn splits_and_refunds_racing_on_one_order_never_exceed_what_was_paid(app: TestApp) {
        let no = "order_split_race";
        paid_for_sharing(&app, &app.site, no, "wechat").await;
        let start = Arc::new(tokio::sync::Barrier::new(24));
        let mut tasks = Vec::new();
        for i in 0..12 {
            let body = json!({"out_refund_no": format!("race_rf_{i:02}"), "amount": 1000});
            tasks.push(racing(&app, &start, format!("/v1/orders/{no}/refunds"), body.to_string()));
            tasks.push(racing(&app, &start, format!("/v1/orders/{no}/splits"), to_openid(&format!("race_sp_{i:02}"), 500).to_string()));
        }
        let mut replies = Vec::new();
        for t in tasks {
            replies.push(t.await.unwrap());
        }
        let (mut refunded, mut split) = (0, 0);
        let mut split_nos = Vec::new();
        for r in &replies {
            match (r.status, r.json.get("out_split_no")) {
                (200, Some(out)) => {
                    split += 500;
                    split_nos.push(out.as_str().unwrap().to_owned());
                }
                (200, None) => refunded += 1000,
                _ => assert!(
                    ["refund_exceeds_paid", "split_exceeds_paid", "split_ratio_exceeded"].contains(&r.code()),
                    "{}", r.text
                ),
            }
        }
        assert!(refunded + split <= 10000, "refunded {refunded}, split {split}");
        assert!(split <= 3000, "split {split}");
        for out in &split_nos {
            assert_eq!(settled(&app, &app.site, out).await["status"], "succeeded");
        }
        // paygate's account of the order is WeChat Pay's own.
        let order = app.stored(&app.site, no).await;
        let held = app.db.store.order_held(&app.site.id, order.id).await.unwrap().unwrap().1;
        assert_eq!((held.refund_reserved, held.split_reserved), (refunded, split));
        let upstream = order.upstream_order_no.as_str().to_owned();
        let mut sim_refund = 0;
        for _ in 0..200 {
            sim_refund = sim_refunded(&app, &upstream);
            if sim_refund == refunded {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(sim_refund, refunded);
        assert_eq!(10000 - refunded - sim_unsplit(&app, &app.site, no).await, split);
        assert_eq!(shared(&app, &app.site).await, split);
        ledger_balances(&app).await;
    }

    async fn a_sub_merchants_order_is_split_through_the_service_provider(app: TestApp) {
        let site = app.another_site("sub-splits").await;
        let update = SiteUpdate {
            wechat_sub_merchant: Some(Some(WechatSubMerchant {
                sub_mchid: SubMchid::parse(SUB_MCHID).unwrap(),
                sub_appid: None,
            })),
            ..SiteUpdate::default()
        };
        let site = SiteService::new(app.db.store.clone())
            .update(&site.id, &update, &ActedBy::from(Actor::Cli))
            .await
            .unwrap()
            .unwrap();
        let no = "order_split_sub";
        paid_for_sharing(&app, &site, no, "wechat").await;
        split_as(&app, &site, no, &to_openid("sp_sub_1", 2500)).await.assert_ok();
        let v = settled(&app, &site, "sp_sub_1").await;
        assert_eq!(v["status"], "succeeded", "{v}");
        // The sub-merchant's split, asked of WeChat Pay through the partner query.
        let order = app.stored(&site, no).await;
        let partner = app.wechat.partner.as_ref().unwrap();
        let split = app.db.store.find_split(&site.id, &OutSplitNo::parse("sp_sub_1").unwrap()).await.unwrap().unwrap();
        let upstream = partner
            .client
            .query_partner_profit_sharing(SUB_MCHID, split.upstream_split_no.as_str(), order.upstream.transaction_id.as_deref().unwrap())
            .await
            .unwrap();
        assert_eq!(upstream.sub_mchid.as_deref(), Some(SUB_MCHID));
        assert_eq!(sim_unsplit(&app, &site, no).await, 7500);
        assert_eq!(shared(&app, &site).await, 2500);
    }

    async fn a_split_that_unfreezes_the_rest_is_the_orders_last(app: TestApp) {
        let no = "order_split_unfreeze";
        paid_for_sharing(&app, &app.site, no, "wechat").await;
        let mut body = to_openid("sp_last", 1000);
        body["unfreeze_rest"] = json!(true);
        let v = split_as(&app, &app.site, no, &body).await.assert_ok().clone();
        assert_eq!(v["unfreeze_rest"], true, "{v}");
        // Asked again without it, it is other content.
        split_as(&app, &app.site, no, &to_openid("sp_last", 1000)).await.assert_error(409, "out_split_no_conflict");
        let v = settled(&app, &app.site, "sp_last").await;
        assert_eq!(v["status"], "succeeded", "{v}");
        // WeChat Pay gave the rest back to the merchant: nothing is left to split there.
        assert_eq!(sim_unsplit(&app, &app.site, no).await, 0);
        let later = split_as(&app, &app.site, no, &to_openid("sp_after_last", 100)).await.assert_ok().clone();
        let after = if later["status"] == "processing" { settled(&app, &app.site, "sp_after_last").await } else { later };
        assert_eq!(after["status"], "failed", "{after}");
        assert_eq!(shared(&app, &app.site).await, 1000);
        split_as(&app, &app.site, no, &json!({"out_split_no": "sp_bad", "unfreeze_rest": "yes",
            "receivers": [{"type": "PERSONAL_OPENID", "account": OPENID, "amount": 1}]}))
            .await
            .assert_error(400, "invalid_field");
    }

    async fn an_alipay_order_is_split_with_settle(app: TestApp) {
        let no = "order_split_ali";
        paid_for_sharing(&app, &app.site, no, "alipay").await;
        let body = json!({"out_split_no": "sp_ali_1", "description": "平台服务费",
            "receivers": [{"type": "userId", "account": ALIPAY_USER, "name": "张三", "amount": 4000}]});
        let r = split_as(&app, &app.site, no, &body).await;
        let v = r.assert_ok();
        // Alipay settles at once, and its query says so.
        assert_eq!(v["status"], "succeeded", "{v}");
        assert_eq!(v["description"], "平台服务费");
        // Alipay has no ratio limit: only what was paid bounds it.
        let more = json!({"out_split_no": "sp_ali_2",
            "receivers": [{"type": "userId", "account": ALIPAY_USER, "name": "张三", "amount": 6001}]});
        split_as(&app, &app.site, no, &more).await.assert_error(409, "split_exceeds_paid");
        let url = format!(
            "{}/sim/alipay/trades/{}?app_id={}",
            app.sim.base_url,
            app.stored(&app.site, no).await.upstream_order_no.as_str(),
            sandbox_keys().alipay_app_id
        );
        let trade: Value = app.http.get(url).send().await.unwrap().json().await.unwrap();
        assert_eq!(trade["settlements"].as_array().map(Vec::len), Some(1), "{trade}");
        assert_eq!(shared(&app, &app.site).await, 4000);
        ledger_balances(&app).await;
        // A WeChat Pay receiver is not one of an Alipay order's.
        let wrong = split_as(&app, &app.site, no, &to_openid("sp_ali_3", 100)).await;
        wrong.assert_error(400, "invalid_field");
        assert_eq!(wrong.json["field"], "receivers.type");
    }

    async fn another_site_can_neither_split_nor_read_the_sites_splits(app: TestApp) {
        let no = "order_split_scope";
        paid_for_sharing(&app, &app.site, no, "wechat").await;
        split_as(&app, &app.site, no, &to_openid("sp_scope", 1000)).await.assert_ok();
        let other = app.another_site("intruder").await;
        split_as(&app, &other, no, &to_openid("sp_scope_2", 1000)).await.assert_error(404, "order_not_found");
        get_split_as(&app, &other, "sp_scope").await.assert_error(404, "split_not_found");
        // The same number is the other site's own to use.
        get_split_as(&app, &app.site, "sp_scope").await.assert_ok();
    }

    async fn the_same_split_number_is_the_same_split_and_other_content_conflicts(app: TestApp) {
        let no = "order_split_idem";
        paid_for_sharing(&app, &app.site, no, "wechat").await;
        let body = to_openid("sp_idem", 1500);
        let first = split_as(&app, &app.site, no, &body).await.assert_ok().clone();
        let again = split_as(&app, &app.site, no, &body).await;
        assert_eq!(again.assert_ok()["created_at"], first["created_at"]);
        settled(&app, &app.site, "sp_idem").await;
        let later = split_as(&app, &app.site, no, &body).await;
        assert_eq!(later.assert_ok()["status"], "succeeded");
        let conflicting = [
            to_openid("sp_idem", 1501),
            json!({"out_split_no": "sp_idem", "description": "x",
                "receivers": [{"type": "PERSONAL_OPENID", "account": OPENID, "amount": 1500}]}),
        ];
        for other in conflicting {
            split_as(&app, &app.site, no, &other).await.assert_error(409, "out_split_no_conflict");
        }
        assert_eq!(sim_unsplit(&app, &app.site, no).await, 8500, "split once");
    }

    async fn only_a_paid_order_made_for_profit_sharing_can_be_split(app: TestApp) {
        let plain = json!({"out_trade_no": "order_split_plain", "channel": "wechat", "method": "native",
            "description": "VIP年卡", "amount_total": 10000});
        app.create_order(&plain).await.assert_ok();
        app.sim_wechat_pay(&app.site, "order_split_plain").await;
        split_as(&app, &app.site, "order_split_plain", &to_openid("sp_plain", 100)).await.assert_error(409, "order_not_splittable");
        let unpaid = json!({"out_trade_no": "order_split_unpaid", "channel": "wechat", "method": "native",
            "description": "VIP年卡", "amount_total": 10000, "profit_sharing": true});
        app.create_order(&unpaid).await.assert_ok();
        split_as(&app, &app.site, "order_split_unpaid", &to_openid("sp_unpaid", 100)).await.assert_error(409, "order_not_splittable");
        // The flag is part of the order's content.
        let mut flagged = plain.clone();
        flagged["profit_sharing"] = json!(true);
        app.create_order(&flagged).await.assert_error(409, "out_trade_no_conflict");
    }

    async fn invalid_split_requests_are_refused_naming_the_field(app: TestApp) {
        let no = "order_split_bad";
        paid_for_sharing(&app, &app.site, no, "wechat").await;
        let receiver = |r: Value| json!({"out_split_no": "sp_bad", "receivers": [r]});
        let cases = [
            (json!({"receivers": [{"type": "PERSONAL_OPENID", "account": OPENID, "amount": 1}]}), "missing_fields", "out_split_no"),
            (json!({"out_split_no": "sp_bad"}), "missing_fields", "receivers"),
            (json!({"out_split_no": "sp bad", "receivers": []}), "invalid_field", "out_split_no"),
            (json!({"out_split_no": "sp_bad", "receivers": {}}), "invalid_field", "receivers"),
            (json!({"out_split_no": "sp_bad", "receivers": [1]}), "invalid_field", "receivers"),
            (receiver(json!({"type": "BANK", "account": OPENID, "amount": 1})), "invalid_field", "receivers.type"),
            (receiver(json!({"type": "PERSONAL_OPENID", "account": "a b", "amount": 1})), "invalid_field", "receivers.account"),
            (receiver(json!({"type": "PERSONAL_OPENID", "account": OPENID, "amount": 0})), "invalid_amount", "receivers.amount"),
            (receiver(json!({"type": "PERSONAL_OPENID", "account": OPENID, "amount": 10.5})), "invalid_amount", "receivers.amount"),
            (receiver(json!({"type": "PERSONAL_OPENID", "account": OPENID})), "missing_fields", "receivers.amount"),
            (receiver(json!({"type": "MERCHANT_ID", "account": "1900000109", "amount": 1})), "missing_fields", "receivers.name"),
            (receiver(json!({"type": "loginName", "account": "pay@example.com", "amount": 1})), "missing_fields", "receivers.name"),
            (json!({"out_split_no": "sp_bad", "description": "   ",
                "receivers": [{"type": "PERSONAL_OPENID", "account": OPENID, "amount": 1}]}), "invalid_field", "description"),
        ];
        for (body, code, field) in cases {
            let r = split_as(&app, &app.site, no, &body).await;
            assert_eq!((r.status, r.code()), (400, code), "{body}: {}", r.text);
            assert_eq!(r.json["field"], field, "{body}: {}", r.text);
        }
        let twice = json!({"out_split_no": "sp_bad", "receivers": [
            {"type": "PERSONAL_OPENID", "account": OPENID, "amount": 1},
            {"type": "PERSONAL_OPENID", "account": OPENID, "amount": 2}]});
        let r = split_as(&app, &app.site, no, &twice).await;
        assert_eq!((r.status, r.json["field"].as_str()), (400, Some("receivers")), "{}", r.text);
        get_split_as(&app, &app.site, "sp_bad").await.assert_error(404, "split_not_found");
    }
}
