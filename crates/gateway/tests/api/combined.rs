//! `POST /v1/combined-orders` and `GET /v1/combined-orders/{no}`: who may combine for whom, the
//! answer and its replay, the conflicts, and the refusals of bad input (a 400 naming a field,
//! never a 500). That one payment pays every sub-order is in the callback tests.

use std::collections::BTreeSet;

use gateway::domain::{
    Actor, AuditAction, AuditEntry, Channel, Method, PayMethod, Site, SiteStatus, SubMchid,
    Timestamp, WechatSubMerchant,
};
use gateway::store::SiteUpdate;
use serde_json::{Value, json};

use crate::api_tests;
use crate::support::app::{Reply, Signing, TestApp};

fn audit(action: AuditAction) -> AuditEntry {
    AuditEntry::new(Timestamp::now(), Actor::Cli, action)
}

/// Lets the demo site combine for `member`.
async fn allow(app: &TestApp, member: &Site) {
    app.db
        .store
        .allow_combine(
            &app.site.id,
            &member.id,
            Timestamp::now(),
            &audit(AuditAction::SiteCombineAllow),
        )
        .await
        .unwrap();
}

async fn post_combined_as(app: &TestApp, site: &Site, body: &Value) -> Reply {
    app.signed_as(
        site,
        "POST",
        "/v1/combined-orders",
        &body.to_string(),
        Signing::default(),
    )
    .await
}

async fn get_combined_as(app: &TestApp, site: &Site, no: &str) -> Reply {
    let path = format!("/v1/combined-orders/{no}");
    app.signed_as(site, "GET", &path, "", Signing::default())
        .await
}

/// A Native combined order `no` of two sub-orders: the demo site's `{no}_0` and `member`'s `{no}_1`.
fn body_of_two(app: &TestApp, member: &Site, no: &str) -> Value {
    json!({
        "combine_out_trade_no": no, "method": "native", "expire_minutes": 30,
        "sub_orders": [
            {"site_id": app.site.id.as_str(), "out_trade_no": format!("{no}_0"), "amount_total": 1000, "description": "平台"},
            {"site_id": member.id.as_str(), "out_trade_no": format!("{no}_1"), "amount_total": 2500, "description": "会员店"},
        ]
    })
}

async fn stored_orders(app: &TestApp) -> i64 {
    app.db.count("SELECT COUNT(*) FROM orders").await
}

async fn stored_combined(app: &TestApp) -> i64 {
    app.db.count("SELECT COUNT(*) FROM combined_orders").await
}

api_tests! {
    async fn a_combined_order_is_answered_with_its_sub_orders_and_one_payment(app: TestApp) {
        let member = app.another_site("member").await;
        allow(&app, &member).await;
        let r = post_combined_as(&app, &app.site, &body_of_two(&app, &member, "cmb_api_01")).await;
        let answer = r.assert_ok().clone();
        assert_eq!(answer["combine_out_trade_no"], "cmb_api_01");
        assert_eq!((answer["channel"].as_str(), answer["method"].as_str()), (Some("wechat"), Some("native")));
        assert_eq!(answer["amount_total"], 3500);
        assert!(answer["pay_params"]["code_url"].as_str().unwrap().starts_with("weixin://"));
        let subs = answer["sub_orders"].as_array().unwrap();
        assert_eq!(subs.len(), 2);
        assert_eq!(subs[1]["site_id"], member.id.as_str());
        assert_eq!(subs[1]["out_trade_no"], "cmb_api_01_1");
        assert_eq!(subs[1]["status"], "pending");
        assert_eq!(subs[1]["amount_total"], 2500);

        // The member's sub-order is its own order, paid by the same payment.
        let own = app.get_order_as(&member, "cmb_api_01_1").await;
        let own = own.assert_ok();
        assert_eq!(own["amount_total"], 2500);
        // It offers no parameters of its own: they would pay the whole combined order under this
        // order's smaller amount. The combined order's answer has them.
        assert_eq!(own["pay_params"], serde_json::Value::Null, "{own}");
        // One upstream combined order, its two sub-orders in the simulator.
        assert_eq!(app.sim_wechat_orders(), 2);

        // The same request again: the same combined order, nothing new upstream or stored.
        let again = post_combined_as(&app, &app.site, &body_of_two(&app, &member, "cmb_api_01")).await;
        assert_eq!(again.assert_ok()["sub_orders"], answer["sub_orders"]);
        assert_eq!(again.json["pay_params"]["code_url"], answer["pay_params"]["code_url"]);
        assert_eq!((stored_orders(&app).await, stored_combined(&app).await), (2, 1));
        assert_eq!(app.sim_wechat_orders(), 2);

        let read = get_combined_as(&app, &app.site, "cmb_api_01").await;
        assert_eq!(read.assert_ok()["sub_orders"], answer["sub_orders"]);
        // Another site, the member included, cannot read it.
        get_combined_as(&app, &member, "cmb_api_01").await.assert_error(404, "combined_order_not_found");
        get_combined_as(&app, &app.site, "cmb_api_none").await.assert_error(404, "combined_order_not_found");
    }

    async fn the_same_number_with_other_content_or_a_used_order_number_is_a_conflict(app: TestApp) {
        let member = app.another_site("member").await;
        allow(&app, &member).await;
        post_combined_as(&app, &app.site, &body_of_two(&app, &member, "cmb_api_02")).await.assert_ok();

        let mut other = body_of_two(&app, &member, "cmb_api_02");
        other["sub_orders"][1]["amount_total"] = json!(2600);
        post_combined_as(&app, &app.site, &other).await.assert_error(409, "combine_out_trade_no_conflict");

        // A sub-order number its site already used (here by the combined order above).
        let mut reused = body_of_two(&app, &member, "cmb_api_03");
        reused["sub_orders"][1]["out_trade_no"] = json!("cmb_api_02_1");
        let r = post_combined_as(&app, &app.site, &reused).await;
        r.assert_error(409, "out_trade_no_conflict");
        assert_eq!((stored_orders(&app).await, stored_combined(&app).await), (2, 1), "nothing of it stored");
    }

    async fn a_sub_order_of_a_site_not_granted_disabled_or_without_the_method_is_refused(app: TestApp) {
        let stranger = app.another_site("stranger").await;
        let r = post_combined_as(&app, &app.site, &body_of_two(&app, &stranger, "cmb_api_04")).await;
        r.assert_error(403, "combine_not_allowed");
        assert_eq!((stored_orders(&app).await, stored_combined(&app).await), (0, 0));
        assert_eq!(app.sim_wechat_orders(), 0);

        // The leave is the platform's, one way: the stranger may not combine for the demo site
        // even once the demo site may combine for it.
        allow(&app, &stranger).await;
        let mut reversed = body_of_two(&app, &stranger, "cmb_api_05");
        reversed["sub_orders"][0]["site_id"] = json!(stranger.id.as_str());
        reversed["sub_orders"][1]["site_id"] = json!(app.site.id.as_str());
        post_combined_as(&app, &stranger, &reversed).await.assert_error(403, "combine_not_allowed");

        let narrow = app.another_site("alipay only").await;
        allow(&app, &narrow).await;
        let only_alipay = SiteUpdate {
            enabled_methods: Some(BTreeSet::from([PayMethod::new(Channel::Alipay, Method::Qr).unwrap()])),
            ..SiteUpdate::default()
        };
        app.db.store.update_site(&narrow.id, &only_alipay, Timestamp::now(), &audit(AuditAction::SiteUpdate)).await.unwrap();
        post_combined_as(&app, &app.site, &body_of_two(&app, &narrow, "cmb_api_06")).await.assert_error(403, "combine_method_not_enabled");

        let disabled = app.another_site("disabled").await;
        allow(&app, &disabled).await;
        app.db.store.set_site_status(&disabled.id, SiteStatus::Disabled, Timestamp::now(), &audit(AuditAction::SiteDisable)).await.unwrap();
        post_combined_as(&app, &app.site, &body_of_two(&app, &disabled, "cmb_api_07")).await.assert_error(403, "combine_member_disabled");

        // A site paid to its own sub-merchant is not combined with the operator's merchant's
        // (WeChat Pay combines one kind or the other).
        let served = app.another_site("sub-merchant").await;
        allow(&app, &served).await;
        let sub_merchant = SiteUpdate {
            wechat_sub_merchant: Some(Some(WechatSubMerchant {
                sub_mchid: SubMchid::parse("1900000109").unwrap(),
                sub_appid: None,
            })),
            ..SiteUpdate::default()
        };
        app.db.store.update_site(&served.id, &sub_merchant, Timestamp::now(), &audit(AuditAction::SiteUpdate)).await.unwrap();
        post_combined_as(&app, &app.site, &body_of_two(&app, &served, "cmb_api_08")).await.assert_error(400, "combine_merchants_mixed");

        assert_eq!((stored_orders(&app).await, stored_combined(&app).await), (0, 0));
    }

    async fn closing_a_sub_order_closes_the_combined_order_and_its_siblings_checks_find_it(app: TestApp) {
        let member = app.another_site("member").await;
        allow(&app, &member).await;
        post_combined_as(&app, &app.site, &body_of_two(&app, &member, "cmb_api_10")).await.assert_ok();
        let closed = app.close_order_as(&member, "cmb_api_10_1").await;
        assert_eq!(closed.assert_ok()["status"], "closed");
        // WeChat Pay closed both sub-orders; the platform's own sees so when it asks.
        let states: Vec<String> = test_support::sim::wechat_orders(app.sim_dir.path())
            .values()
            .map(|o| o["state"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(states.len(), 2);
        assert!(states.iter().all(|s| s == "CLOSED"), "{states:?}");
        let sibling = app.stored(&app.site, "cmb_api_10_0").await;
        assert_eq!(sibling.status, gateway::domain::OrderStatus::Pending);
        let asked = app.channels.query(&sibling).await.unwrap();
        assert_eq!(asked, gateway::channels::UpstreamStatus::Closed);
    }

    async fn a_jsapi_combined_order_answers_the_invoke_parameters_for_the_payer(app: TestApp) {
        let member = app.another_site("member").await;
        allow(&app, &member).await;
        let mut body = body_of_two(&app, &member, "cmb_api_11");
        body["method"] = json!("jsapi");
        body["payer"] = json!({"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"});
        let r = post_combined_as(&app, &app.site, &body).await;
        let params = &r.assert_ok()["pay_params"];
        assert_eq!(params["type"], "wechat_jsapi", "{params}");
        assert!(params["package"].as_str().unwrap().starts_with("prepay_id="), "{params}");
        assert_eq!(params["signType"], "RSA");
        let own = app.get_order_as(&member, "cmb_api_11_1").await;
        assert_eq!(own.assert_ok()["method"], "jsapi");
        assert_eq!(own.json["pay_params"], serde_json::Value::Null, "only the combined order's answer pays");
    }

    async fn bad_input_is_a_400_naming_its_field(app: TestApp) {
        let member = app.another_site("member").await;
        allow(&app, &member).await;
        let base = body_of_two(&app, &member, "cmb_api_09");
        let with = |path: &[&str], value: Value| {
            let mut b = base.clone();
            let mut at = &mut b;
            for (i, key) in path.iter().enumerate() {
                at = match key.parse::<usize>() {
                    Ok(n) => &mut at[n],
                    Err(_) if i + 1 == path.len() => {
                        at[*key] = value.clone();
                        return b;
                    }
                    Err(_) => &mut at[*key],
                };
            }
            *at = value;
            b
        };
        let sub = |i: usize| json!({"site_id": member.id.as_str(), "out_trade_no": format!("cmb_many_{i}"), "amount_total": 1, "description": "x"});
        let cases: Vec<(Value, &str, &str)> = vec![
            (with(&["sub_orders"], json!([sub(0)])), "invalid_field", "sub_orders"),
            (with(&["sub_orders"], json!((0..11).map(sub).collect::<Vec<_>>())), "invalid_field", "sub_orders"),
            (with(&["sub_orders"], json!("two")), "invalid_field", "sub_orders"),
            (with(&["sub_orders"], json!([sub(0), sub(0)])), "invalid_field", "sub_orders"),
            (with(&["sub_orders", "1", "amount_total"], json!(0)), "invalid_amount", "amount_total"),
            (with(&["sub_orders", "1", "amount_total"], json!("25")), "invalid_amount", "amount_total"),
            (with(&["sub_orders", "1", "site_id"], json!("")), "missing_fields", "site_id"),
            (with(&["sub_orders", "1", "site_id"], json!("no spaces allowed")), "invalid_field", "site_id"),
            (with(&["sub_orders", "0", "out_trade_no"], json!("bad!")), "invalid_out_trade_no", "out_trade_no"),
            (with(&["sub_orders", "0", "notify_url"], json!("ftp://x")), "invalid_notify_url", "notify_url"),
            (with(&["combine_out_trade_no"], json!("x")), "invalid_field", "combine_out_trade_no"),
            (with(&["combine_out_trade_no"], json!(12345678)), "invalid_field", "combine_out_trade_no"),
            (with(&["method"], json!("qr")), "invalid_method", "method"),
            (with(&["method"], json!("miniapp")), "invalid_method", "method"),
            (with(&["method"], json!("jsapi")), "missing_fields", "payer.openid"),
            (with(&["method"], json!("h5")), "missing_fields", "payer.client_ip"),
            (with(&["expire_minutes"], json!(0)), "invalid_expire_minutes", "expire_minutes"),
            (with(&["payer"], json!([])), "invalid_field", "payer"),
        ];
        for (body, code, field) in cases {
            let r = post_combined_as(&app, &app.site, &body).await;
            assert_eq!((r.status, r.code(), r.json["field"].as_str()), (400, code, Some(field)), "{body}: {}", r.text);
        }
        let r = app.signed_as(&app.site, "POST", "/v1/combined-orders", "[1,2]", Signing::default()).await;
        r.assert_error(400, "invalid_json");
        let r = post_combined_as(&app, &app.site, &json!({"method": "native"})).await;
        r.assert_error(400, "missing_fields");
        assert_eq!((stored_orders(&app).await, stored_combined(&app).await), (0, 0));
    }
}
