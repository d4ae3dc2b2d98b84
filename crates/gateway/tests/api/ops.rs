//! OpenAPI, docs, health, readiness, metrics, request ids.

use crate::api_tests;
use crate::support::app::TestApp;

api_tests! {
    async fn openapi_lists_the_routes(app: TestApp) {
        let r = app.get("/openapi.json").await;
        let v = r.assert_ok();
        assert!(v["openapi"].as_str().unwrap().starts_with("3."));
        let paths = v["paths"].as_object().unwrap();
        for p in ["/pay/wechat/native", "/pay/wechat/status", "/pay/wechat/checkout", "/v1/orders",
                  "/v1/orders/{out_trade_no}", "/v1/orders/{out_trade_no}/close", "/healthz", "/readyz"] {
            assert!(paths.contains_key(p), "{p} missing");
        }
        assert!(!paths.contains_key("/metrics"), "not on the API's listener");
        let docs = app.get("/docs").await;
        assert_eq!(docs.status, 200);
        assert!(docs.text.contains("/v1/orders") && docs.text.contains("out_trade_no_conflict"));
        assert!(!docs.text.contains("<script") && !docs.text.contains("<link"), "self-contained, no CDN");
    }

    async fn health_readiness_and_metrics(app: TestApp) {
        assert_eq!(app.get("/healthz").await.assert_ok()["status"], "ok");
        assert_eq!(app.get("/readyz").await.assert_ok()["status"], "ready");
        app.create_native(&serde_json::json!({"out_trade_no": "order_metrics_1", "description": "x", "amount_total": 1})).await.assert_ok();
        let m = app.metrics().await;
        assert!(m.contains("paygate_http_requests_total"), "{m}");
        assert!(m.contains("route=\"/pay/wechat/native\""));
        assert!(m.contains("paygate_http_request_duration_seconds_bucket"));
        assert!(m.contains("paygate_upstream_calls_total"));
    }

    async fn metrics_are_not_served_on_the_api_listener(app: TestApp) {
        app.get("/metrics").await.assert_error(404, "not_found");
        assert!(app.metrics().await.contains("paygate_http_requests_total"));
    }

    async fn every_answer_has_a_request_id(app: TestApp) {
        let r = app.get("/healthz").await;
        assert!(!r.headers["x-request-id"].is_empty());
    }
}
