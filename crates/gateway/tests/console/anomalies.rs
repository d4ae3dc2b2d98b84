//! Anomalies in the console: an admin acknowledges one with a note (audited), it leaves the open
//! list and the dashboard's count, and comes back if it happens again; nobody else acknowledges.

use gateway::domain::{AnomalyKind, Channel, OrderId, Role, Timestamp};
use gateway::store::NewAnomaly;

use crate::support::app::TestApp;
use crate::{Browser, Page, console_tests, paid_order, user};

fn anomaly(order: Option<i64>, key: &str) -> NewAnomaly {
    NewAnomaly {
        kind: AnomalyKind::AmountMismatch,
        channel: Channel::Wechat,
        order_id: order.map(OrderId::from_i64),
        dedupe_key: format!("amount_mismatch:{key}"),
        detail: format!("detail of {key}"),
        at: Timestamp::now(),
    }
}

/// The dashboard's count of open anomalies.
fn open_count(dashboard: &Page) -> String {
    let marker = "data-testid=\"anomalies\"><strong>";
    let start = dashboard.body.find(marker).unwrap() + marker.len();
    let end = dashboard.body[start..].find('<').unwrap() + start;
    dashboard.body[start..end].to_owned()
}

/// The id of the anomaly with dedupe key `key`.
async fn id_of(app: &TestApp, key: &str) -> i64 {
    app.db
        .count(&format!(
            "SELECT id FROM anomalies WHERE dedupe_key = 'amount_mismatch:{key}'"
        ))
        .await
}

async fn acknowledged(app: &TestApp, id: i64) -> bool {
    app.db
        .count(&format!(
            "SELECT COUNT(*) FROM anomalies WHERE id = {id} AND acknowledged_at IS NOT NULL"
        ))
        .await
        == 1
}

console_tests! {
    async fn an_acknowledged_anomaly_leaves_the_open_list_and_count_until_it_happens_again(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let order = paid_order(&app, &app.site, "o_anomalous", 10_000).await;
        for (order, key) in [(Some(order), "first"), (None, "second")] {
            app.db.store.record_anomaly(&anomaly(order, key)).await.unwrap();
        }
        let first = id_of(&app, "first").await;
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        assert_eq!(open_count(&browser.get("/console").await), "2");
        let list = browser.get("/console/anomalies").await;
        assert_eq!(list.body.matches("data-testid=\"anomaly-row\"").count(), 2);
        let csrf = list.csrf();
        let path = format!("/console/anomalies/{first}/acknowledge");
        // A note is required.
        for note in ["", "   ", "a\u{200b}b"] {
            browser.post(&path, &[("csrf", &csrf), ("note", note)]).await.assert_status(400).assert_contains("data-testid=\"notice\"");
        }
        assert!(!acknowledged(&app, first).await);
        let done = browser.post(&path, &[("csrf", &csrf), ("note", "渠道已确认金额，已人工退款差额")]).await;
        done.assert_status(303);
        assert_eq!(done.location(), Some("/console/anomalies?done=acknowledged"));
        let open = browser.get("/console/anomalies?done=acknowledged").await;
        open.assert_contains("data-testid=\"notice\"").assert_contains("detail of second").assert_lacks("detail of first");
        let all = browser.get("/console/anomalies?show=all").await;
        all.assert_contains("detail of first").assert_contains("ops@example.com").assert_contains("渠道已确认金额，已人工退款差额");
        assert_eq!(open_count(&browser.get("/console").await), "1");
        let entry = app.db.store.list_audit(1).await.unwrap().remove(0);
        assert_eq!(entry.action, "anomaly.acknowledge");
        assert_eq!((entry.object_kind.as_deref(), entry.object_id.as_deref()), (Some("anomaly"), Some(first.to_string().as_str())));
        assert_eq!(entry.ip.as_deref(), Some("127.0.0.1"));
        assert!(entry.detail.contains("已人工退款差额"));
        // It happens again: open again, and counted.
        app.db.store.record_anomaly(&anomaly(Some(order), "first")).await.unwrap();
        assert!(!acknowledged(&app, first).await);
        assert_eq!(open_count(&browser.get("/console").await), "2");
        // An anomaly that does not exist, or a path that names none.
        browser.post("/console/anomalies/999999/acknowledge", &[("csrf", &csrf), ("note", "x")]).await.assert_status(404);
        browser.post("/console/anomalies/+1/acknowledge", &[("csrf", &csrf), ("note", "x")]).await.assert_status(404);
    }

    async fn only_an_admin_acknowledges_anomalies(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        user(&app, "shop@example.com", Role::Site(app.site.id.clone())).await;
        user(&app, "viewer@example.com", Role::Viewer).await;
        let order = paid_order(&app, &app.site, "o_anomalous", 10_000).await;
        app.db.store.record_anomaly(&anomaly(Some(order), "theirs")).await.unwrap();
        let id = id_of(&app, "theirs").await;
        let path = format!("/console/anomalies/{id}/acknowledge");
        for email in ["shop@example.com", "viewer@example.com"] {
            let mut browser = Browser::signed_in(&app, email).await;
            let list = browser.get("/console/anomalies").await;
            // They see it (a site user: it is about their order), and no form to acknowledge it.
            list.assert_contains("detail of theirs").assert_lacks("data-testid=\"ack-form\"");
            browser.post(&path, &[("csrf", &list.csrf()), ("note", "hidden from the operator")]).await.assert_status(403);
        }
        let mut ops = Browser::signed_in(&app, "ops@example.com").await;
        let csrf = ops.csrf().await;
        ops.post(&path, &[("note", "no token")]).await.assert_status(403);
        ops.post_from(&path, &[("csrf", &csrf), ("note", "elsewhere")], Some("https://evil.example")).await.assert_status(403);
        assert!(!acknowledged(&app, id).await);
    }
}
