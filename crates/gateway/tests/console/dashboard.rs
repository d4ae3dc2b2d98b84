//! The dashboard's figures against the orders behind them: today, 7 and 30 console days, by site
//! and by channel, refunds, the chart, and what the node keeps of earlier days between views.

use std::time::Duration;

use gateway::domain::{RefundStatus, Role, Site};
use serde_json::json;

use crate::support::app::TestApp;
use crate::{Browser, Page, console_tests, paid_order, user};

const DAY_MS: i64 = 86_400_000;

/// The card of one period (`today`, `7d`, `30d`) of a dashboard page.
fn card<'a>(page: &'a Page, key: &str) -> &'a str {
    let start = page
        .body
        .find(&format!("data-testid=\"period-{key}\""))
        .unwrap();
    let card = &page.body[start..];
    &card[..card.find("</div>").unwrap()]
}

fn assert_card(page: &Page, key: &str, paid: i64, amount: &str, refunds: &str) {
    let card = card(page, key);
    assert!(
        card.contains(&format!("data-testid=\"paid-count\">{paid}<")),
        "{key}: {card}"
    );
    assert!(
        card.contains(&format!("data-testid=\"paid-amount\">¥{amount}<")),
        "{key}: {card}"
    );
    assert!(
        card.contains(&format!("data-testid=\"refunds\">{refunds}<")),
        "{key}: {card}"
    );
}

/// Moves an order, its payment and its refunds `days` console days back.
async fn age(app: &TestApp, no: &str, days: i64) {
    let back = days * DAY_MS;
    app.db
        .execute(&format!(
            "UPDATE orders SET created_at = created_at - {back}, paid_at = paid_at - {back} \
             WHERE out_trade_no = '{no}'"
        ))
        .await;
    app.db
        .execute(&format!(
            "UPDATE refunds SET succeeded_at = succeeded_at - {back} \
             WHERE order_id IN (SELECT id FROM orders WHERE out_trade_no = '{no}')"
        ))
        .await;
}

/// A refund of `fen` of the paid order `no`, waited for until it reached the payer.
async fn refunded(app: &TestApp, site: &Site, no: &str, fen: i64) {
    let body = json!({"out_refund_no": format!("r_{no}"), "amount": fen}).to_string();
    let path = format!("/v1/orders/{no}/refunds");
    app.signed_as(site, "POST", &path, &body, Default::default())
        .await
        .assert_ok();
    let order = app.stored(site, no).await.id;
    for _ in 0..200 {
        let refunds = app
            .db
            .store
            .refunds_for_order(&site.id, order)
            .await
            .unwrap();
        if refunds.iter().all(|r| r.status == RefundStatus::Succeeded) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the refund of {no} never succeeded");
}

console_tests! {
    async fn each_period_sums_the_payments_and_refunds_of_its_days(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        user(&app, "shop@example.com", Role::Site(app.site.id.clone())).await;
        let other = app.another_site("other shop").await;
        paid_order(&app, &app.site, "o_today_000000001", 10_000).await;
        paid_order(&app, &other, "o_3days_000000001", 2_990).await;
        refunded(&app, &other, "o_3days_000000001", 990).await;
        age(&app, "o_3days_000000001", 3).await;
        paid_order(&app, &app.site, "o_20days_00000001", 500).await;
        age(&app, "o_20days_00000001", 20).await;
        paid_order(&app, &app.site, "o_40days_00000001", 700).await;
        age(&app, "o_40days_00000001", 40).await;

        let mut ops = Browser::signed_in(&app, "ops@example.com").await;
        let page = ops.get("/console").await;
        page.assert_status(200);
        assert_card(&page, "today", 1, "100.00", "0 · ¥0.00");
        assert_card(&page, "7d", 2, "129.90", "1 · ¥9.90");
        assert_card(&page, "30d", 3, "134.90", "1 · ¥9.90");
        // Each paid day is a bar of the chart; the day 40 days back is not on it.
        for fen in [10_000, 2_990, 500] {
            page.assert_contains(&format!("data-fen=\"{fen}\""));
        }
        page.assert_lacks("data-fen=\"700\"");

        // A site user's periods hold their site's orders only.
        let mut shop = Browser::signed_in(&app, "shop@example.com").await;
        let theirs = shop.get("/console").await;
        assert_card(&theirs, "7d", 1, "100.00", "0 · ¥0.00");
        assert_card(&theirs, "30d", 2, "105.00", "0 · ¥0.00");

        // The days before yesterday are kept between views; what is paid today still shows at once.
        paid_order(&app, &other, "o_today_000000002", 1_000).await;
        let again = ops.get("/console").await;
        assert_card(&again, "today", 2, "110.00", "0 · ¥0.00");
        assert_card(&again, "30d", 4, "144.90", "1 · ¥9.90");
    }
}
