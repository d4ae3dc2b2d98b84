//! The per-client limit on failed requests counts the other protocols' refused credentials too,
//! though EPay answers them 400 and Jeepay 200: a client guessing signatures from one address is
//! slowed down; a merchant signing correctly from another is not.

use gateway::api::RateLimit;
use gateway::domain::Protocol;

use crate::api_tests;
use crate::epay_client::{self, Empties};
use crate::harness::enable;
use crate::support::app::TestApp;

/// A client connecting from another loopback address (Linux routes all of 127/8 to lo).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn strict(app: TestApp) -> TestApp {
    TestApp::spawn_tuned(app.kill(), |s| {
        s.http.rate_limit = Some(RateLimit {
            per_second: 2,
            burst: 5,
        });
    })
    .await
}

api_tests! {
    async fn guessed_epay_and_jeepay_signatures_from_one_address_are_slowed_down(app: TestApp) {
        let app = strict(app).await;
        let epay = enable(&app, &app.site, Protocol::Epay).await;
        let jeepay = enable(&app, &app.site, Protocol::Jeepay).await;
        let guesser = client_from("127.0.0.5");
        let request = [
            ("pid", epay.key_id.as_str()), ("type", "wxpay"), ("out_trade_no", "guess_000001"),
            ("notify_url", "https://shop.example/n"), ("name", "x"), ("money", "1"), ("clientip", "203.0.113.1"),
        ];
        let mut statuses = Vec::new();
        for i in 0..8 {
            let forged = epay_client::signed(&request, &format!("guess-{i}"), Empties::Skipped);
            let r = guesser.post(format!("{}/mapi.php", app.base)).form(&forged).send().await.unwrap();
            statuses.push(r.status().as_u16());
        }
        for i in 0..8 {
            let forged = crate::jeepay_client::signed(&jeepay.key_id, jeepay.app_id.as_deref().unwrap(), &format!("guess-{i}"), &[
                ("mchOrderNo", "guess_000002"), ("wayCode", "WX_NATIVE"), ("amount", "1"), ("currency", "cny"),
                ("subject", "x"), ("body", "x"),
            ]);
            let body: serde_json::Map<String, serde_json::Value> = forged.into_iter().map(|(k, v)| (k, v.into())).collect();
            let r = guesser.post(format!("{}/api/pay/unifiedOrder", app.base)).json(&body).send().await.unwrap();
            statuses.push(r.status().as_u16());
        }
        assert!(statuses[..5].iter().all(|s| *s == 400), "the burst is refused as EPay refuses it: {statuses:?}");
        assert!(statuses.iter().filter(|s| **s == 429).count() >= 8, "then slowed down: {statuses:?}");
        // The merchant, signing correctly from another address, is not.
        let honest = client_from("127.0.0.6");
        for i in 0..8 {
            let no = format!("honest_{i:06}");
            let fields = [
                ("pid", epay.key_id.as_str()), ("type", "wxpay"), ("out_trade_no", no.as_str()),
                ("notify_url", "https://shop.example/n"), ("name", "x"), ("money", "1"), ("clientip", "203.0.113.1"),
            ];
            let r = honest.post(format!("{}/mapi.php", app.base)).form(&epay_client::signed(&fields, epay.secret.expose(), Empties::Skipped)).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200);
        }
    }
}
