//! The payer's page of a combined order (合单): its `checkout_url` in the combined order's answer,
//! what the page shows (the total, each sub-order, the QR code of the one payment, the status as
//! it changes), the link from a sub-order's own page, and what no token but its own opens.

use std::time::Duration;

use gateway::domain::{Actor, AuditAction, AuditEntry, OrderStatus, Site, Timestamp};
use serde_json::{Value, json};

use crate::api_tests;
use crate::checkout::{get_with, page_status, qr_svg, scan, testid};
use crate::support::app::{Reply, Signing, TestApp, sandbox_keys};

async fn allow(app: &TestApp, platform: &Site, member: &Site) {
    let audit = AuditEntry::new(Timestamp::now(), Actor::Cli, AuditAction::SiteCombineAllow);
    app.db
        .store
        .allow_combine(&platform.id, &member.id, Timestamp::now(), &audit)
        .await
        .unwrap();
}

/// `platform`'s Native combined order `no`: its own `{no}_0` (10.00) and `member`'s `{no}_1`
/// (25.00, with an attach and a notification URL of the member's own).
async fn combined(
    app: &TestApp,
    platform: &Site,
    member: &Site,
    no: &str,
    what: [&str; 2],
) -> Value {
    combined_paid_by(
        app,
        platform,
        member,
        no,
        what,
        &json!({"method": "native"}),
    )
    .await
}

/// As [`combined`], by the method (and payer) in `how`.
async fn combined_paid_by(
    app: &TestApp,
    platform: &Site,
    member: &Site,
    no: &str,
    what: [&str; 2],
    how: &Value,
) -> Value {
    let mut body = json!({
        "combine_out_trade_no": no, "expire_minutes": 30,
        "sub_orders": [
            {"site_id": platform.id.as_str(), "out_trade_no": format!("{no}_0"), "amount_total": 1000, "description": what[0]},
            {"site_id": member.id.as_str(), "out_trade_no": format!("{no}_1"), "amount_total": 2500, "description": what[1],
             "attach": "member-private-attach", "notify_url": "https://member.example/private-hook"},
        ]
    });
    for (k, v) in how.as_object().into_iter().flatten() {
        body[k] = v.clone();
    }
    let r = app
        .signed_as(
            platform,
            "POST",
            "/v1/combined-orders",
            &body.to_string(),
            Signing::default(),
        )
        .await;
    r.assert_ok().clone()
}

/// The path of a `checkout_url` (which is built on the public URL).
fn path_of(app: &TestApp, url: &Value) -> String {
    url.as_str()
        .unwrap()
        .strip_prefix(&app.public_url)
        .unwrap()
        .to_owned()
}

async fn page(app: &TestApp, path: &str) -> Reply {
    get_with(app, path, "zh-CN").await
}

/// Texts of every `data-testid="sub-order"` row, tags dropped.
fn sub_order_rows(html: &str) -> Vec<String> {
    html.split("data-testid=\"sub-order\">")
        .skip(1)
        .map(|row| {
            let row = row.split("</li>").next().unwrap();
            row.split('<')
                .filter_map(|part| part.split_once('>').map(|(_, text)| text))
                .chain(std::iter::once(row.split('<').next().unwrap()))
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

async fn sim_pay_combined(app: &TestApp, combine_no: &str) {
    let url = format!(
        "{}/sim/wechat/combine/{combine_no}/pay?mchid={}",
        app.sim.base_url,
        sandbox_keys().wechat_mchid
    );
    let resp = app.http.post(url).send().await.unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
}

async fn until_page_status(app: &TestApp, path: &str, want: &str) -> String {
    for _ in 0..200 {
        let r = page(app, path).await;
        if page_status(&r.text) == want {
            return r.text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} never showed {want}");
}

api_tests! {
    async fn h5_links_to_wechats_page_and_jsapi_or_app_say_where_the_payment_is_made(app: TestApp) {
        let member = app.another_site("Member Shop").await;
        allow(&app, &app.site, &member).await;
        let h5 = combined_paid_by(&app, &app.site, &member, "cmb_page_11", ["运费", "商品"],
            &json!({"method": "h5", "payer": {"client_ip": "203.0.113.7"}})).await;
        let h5_url = h5["pay_params"]["h5_url"].as_str().unwrap().to_owned();
        let html = page(&app, &path_of(&app, &h5["checkout_url"])).await.text;
        assert!(qr_svg(&html).is_none(), "{html}");
        let link = html.split("data-testid=\"pay-link\"").next().unwrap();
        assert!(link.ends_with(&format!("href=\"{}\" ", h5_url.replace('&', "&#38;"))), "{html}");

        let in_app = [
            ("cmb_page_12", json!({"method": "jsapi", "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}})),
            ("cmb_page_13", json!({"method": "app"})),
        ];
        for (no, how) in in_app {
            let answer = combined_paid_by(&app, &app.site, &member, no, ["运费", "商品"], &how).await;
            let path = path_of(&app, &answer["checkout_url"]);
            let html = get_with(&app, &format!("{path}?lang=en"), "zh-CN").await.text;
            assert_eq!(page_status(&html), "pending", "{no}");
            assert!(qr_svg(&html).is_none(), "{no}: {html}");
            assert!(html.contains("Complete the payment in WeChat."), "{no}: {html}");
            assert!(html.contains("Orders paid together"), "{no}: {html}");
            // Parameters meant for the platform's own code are not put on the page.
            assert!(!html.contains("prepay_id"), "{no}: {html}");
        }
    }

    async fn the_combined_page_shows_the_total_each_sub_order_and_the_one_qr_code_until_paid(app: TestApp) {
        let member = app.another_site("Member Shop").await;
        allow(&app, &app.site, &member).await;
        let answer = combined(&app, &app.site, &member, "cmb_page_01", ["平台运费", "会员店商品"]).await;
        let url = answer["checkout_url"].as_str().unwrap();
        assert!(url.starts_with(&format!("{}/combined-checkout/ck_", app.public_url)), "{answer}");
        let code_url = answer["pay_params"]["code_url"].as_str().unwrap().to_owned();
        // The same link however the combined order is asked for again.
        let read = app.signed_as(&app.site, "GET", "/v1/combined-orders/cmb_page_01", "", Signing::default()).await;
        assert_eq!(read.assert_ok()["checkout_url"], answer["checkout_url"]);
        let again = combined(&app, &app.site, &member, "cmb_page_01", ["平台运费", "会员店商品"]).await;
        assert_eq!(again["checkout_url"], answer["checkout_url"]);

        let path = path_of(&app, &answer["checkout_url"]);
        let r = page(&app, &path).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.headers["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
        assert_eq!(r.headers["referrer-policy"], "strict-origin");
        let html = &r.text;
        assert_eq!(testid(html, "site-name").as_deref(), Some(app.site.name.as_str()));
        assert_eq!(testid(html, "amount").as_deref(), Some("¥35.00"));
        assert_eq!(page_status(html), "pending");
        assert_eq!(
            sub_order_rows(html),
            [
                format!("{}|平台运费|¥10.00", app.site.name.as_str()),
                "Member Shop|会员店商品|¥25.00".to_owned(),
            ],
        );
        // In sandbox mode, a button pays the one payment for every sub-order.
        let token = path.rsplit('/').next().unwrap();
        assert!(html.contains(&format!("<form class=\"simulate\" method=\"post\" action=\"/sandbox/pay?token={token}\">")), "{html}");
        // What a phone scanning the page reads pays the whole combined order.
        assert_eq!(scan(qr_svg(html).unwrap()), code_url);
        // Nothing of the sites' own: their numbers, ids, attach, notification URLs, keys.
        for private in [
            "cmb_page_01", "member-private-attach", "private-hook", member.id.as_str(),
            app.site.id.as_str(), member.access_key.as_str(), member.secret_key.expose(),
        ] {
            assert!(!html.contains(private), "the page shows {private}");
        }

        let status = app.get(&format!("{path}/status")).await;
        assert_eq!(status.assert_ok()["status"], "pending");
        assert_eq!(status.json["amount_total"], 3500);

        // The member's own order page offers no way to pay it alone, but leads to the combined page.
        let own = app.get_order_as(&member, "cmb_page_01_1").await;
        let own_path = path_of(&app, &own.assert_ok()["checkout_url"]);
        let own_page = page(&app, &own_path).await;
        assert_eq!(own_page.status, 200);
        assert!(qr_svg(&own_page.text).is_none(), "{}", own_page.text);
        assert!(own_page.text.contains(&format!("href=\"{url}\" data-testid=\"combined-link\"")), "{}", own_page.text);
        assert_eq!(testid(&own_page.text, "amount").as_deref(), Some("¥25.00"));

        let combine_no = app.stored(&member, "cmb_page_01_1").await.combine_no.unwrap();
        sim_pay_combined(&app, combine_no.as_str()).await;
        let paid = until_page_status(&app, &path, "paid").await;
        assert!(qr_svg(&paid).is_none(), "nothing left to pay: {paid}");
        assert_eq!(testid(&paid, "amount").as_deref(), Some("¥35.00"));
        let status = app.get(&format!("{path}/status")).await;
        assert_eq!(status.assert_ok()["status"], "paid");
        assert!(status.json["paid_at"].is_string(), "{}", status.json);
        assert!(answer_has_no_pay_params_after_payment(&app).await);
    }

    async fn a_closed_combined_order_says_so_and_its_stream_ends(app: TestApp) {
        let member = app.another_site("Member Shop").await;
        allow(&app, &app.site, &member).await;
        let answer = combined(&app, &app.site, &member, "cmb_page_02", ["运费", "商品"]).await;
        let path = path_of(&app, &answer["checkout_url"]);
        // Closing one sub-order closes the combined order upstream: nothing is left to pay, even
        // before the siblings are recorded closed.
        app.signed_as(&app.site, "POST", "/v1/orders/cmb_page_02_0/close", "", Signing::default())
            .await
            .assert_ok();
        assert_eq!(app.stored(&app.site, "cmb_page_02_0").await.status, OrderStatus::Closed);
        let html = page(&app, &path).await.text;
        assert_eq!(page_status(&html), "closed");
        assert!(qr_svg(&html).is_none(), "{html}");
        // The stream tells the page once and ends.
        let events = app.http.get(format!("{}{path}/events", app.base)).send().await.unwrap();
        assert_eq!(events.status(), 200);
        let text = tokio::time::timeout(Duration::from_secs(5), events.text()).await.unwrap().unwrap();
        assert!(text.contains("event: status"), "{text}");
        assert!(text.contains("\"status\":\"closed\""), "{text}");
    }

    async fn no_token_but_its_own_opens_a_combined_page(app: TestApp) {
        let member = app.another_site("Member Shop").await;
        allow(&app, &app.site, &member).await;
        let answer = combined(&app, &app.site, &member, "cmb_page_03", ["平台运费", "会员店商品"]).await;
        // Another platform's combined order, of sites this one never saw.
        let other = app.another_site("Other Platform").await;
        let other_member = app.another_site("Other Member").await;
        allow(&app, &other, &other_member).await;
        let theirs = combined(&app, &other, &other_member, "cmb_page_04", ["别家运费", "别家商品"]).await;

        let ours = page(&app, &path_of(&app, &answer["checkout_url"])).await.text;
        for foreign in ["Other Platform", "Other Member", "别家运费", "别家商品"] {
            assert!(!ours.contains(foreign), "{foreign} on another platform's page");
        }
        let theirs_page = page(&app, &path_of(&app, &theirs["checkout_url"])).await;
        assert_eq!(testid(&theirs_page.text, "site-name").as_deref(), Some("Other Platform"));

        let token = path_of(&app, &answer["checkout_url"]).rsplit('/').next().unwrap().to_owned();
        let sub_token = app.stored(&member, "cmb_page_03_1").await.checkout_token.as_str().to_owned();
        let unknown = format!("ck_{}", "A".repeat(32));
        for bad in [unknown.as_str(), "ck_short", "x", sub_token.as_str(), "%3Cscript%3E"] {
            let r = page(&app, &format!("/combined-checkout/{bad}")).await;
            assert_eq!(r.status, 404, "{bad}");
            assert!(r.text.contains("data-testid=\"error\""), "{bad}: {}", r.text);
            for shown in ["会员店商品", "Member Shop", "¥35.00", "<script>"] {
                assert!(!r.text.contains(shown), "{bad} shows {shown}");
            }
            for live in ["status", "events"] {
                let r = app.get(&format!("/combined-checkout/{bad}/{live}")).await;
                r.assert_error(404, "combined_order_not_found");
            }
        }
        // The combined order's token is not an order's.
        let r = page(&app, &format!("/checkout/{token}")).await;
        assert_eq!(r.status, 404);
        app.get(&format!("/pay/wechat/status?token={token}")).await.assert_error(404, "order_not_found");
    }

    async fn a_combined_order_stored_before_its_page_existed_gets_a_token_once(app: TestApp) {
        let member = app.another_site("Member Shop").await;
        allow(&app, &app.site, &member).await;
        combined(&app, &app.site, &member, "cmb_page_05", ["运费", "商品"]).await;
        app.db.execute("UPDATE combined_orders SET checkout_token = NULL").await;
        let read = || app.signed_as(&app.site, "GET", "/v1/combined-orders/cmb_page_05", "", Signing::default());
        let first = read().await.assert_ok()["checkout_url"].clone();
        let second = read().await.assert_ok()["checkout_url"].clone();
        assert_eq!(first, second);
        let r = page(&app, &path_of(&app, &first)).await;
        assert_eq!((r.status, testid(&r.text, "amount")), (200, Some("¥35.00".to_owned())));
    }
}

/// The platform's answer once paid: no pay parameters, the same page.
async fn answer_has_no_pay_params_after_payment(app: &TestApp) -> bool {
    let r = app
        .signed_as(
            &app.site,
            "GET",
            "/v1/combined-orders/cmb_page_01",
            "",
            Signing::default(),
        )
        .await;
    r.assert_ok()["pay_params"].is_null() && r.json["checkout_url"].is_string()
}
