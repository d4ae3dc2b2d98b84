//! Slow and flooding clients: a client that dribbles its headers or its body is cut off, and one
//! address sending too many unsigned requests is answered 429 without slowing anyone else, nor the
//! sites' signed requests.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use gateway::api::RateLimit;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::api_tests;
use crate::support::app::{TestApp, fresh_nonce, seed_sign, unix_now};

const DEADLINE: Duration = Duration::from_millis(600);

/// The app with short deadlines and a small limit, so each case takes about a second.
async fn strict(app: TestApp) -> TestApp {
    TestApp::spawn_tuned(app.kill(), |s| {
        s.http.header_read_timeout = DEADLINE;
        s.http.body_read_timeout = DEADLINE;
        s.http.rate_limit = Some(RateLimit {
            per_second: 2,
            burst: 5,
        });
    })
    .await
}

/// Reads until the server closes the connection; what it sent, and when it closed.
async fn read_until_closed<R: AsyncReadExt + Unpin>(stream: &mut R) -> (String, Instant) {
    let mut got = Vec::new();
    let mut buf = [0_u8; 4096];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return Instant::now(),
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server kept a slow client's connection open for 10 s");
    (String::from_utf8_lossy(&got).into_owned(), closed)
}

/// Sends `start`, then one more byte every 100 ms, reading all along (so an answer is seen before
/// a reset can discard it) until the server closes. What it answered, and how long that took.
async fn dribble(to: SocketAddr, start: &str) -> (String, Duration) {
    let mut stream = TcpStream::connect(to).await.unwrap();
    let started = Instant::now();
    let (mut read, mut write) = stream.split();
    write.write_all(start.as_bytes()).await.unwrap();
    let writer = async {
        while write.write_all(b" ").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        std::future::pending::<()>().await;
    };
    tokio::select! {
        (answer, closed) = read_until_closed(&mut read) => (answer, closed - started),
        () = writer => unreachable!(),
    }
}

/// A client connecting from another loopback address (Linux routes all of 127/8 to lo).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn connect_from(ip: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(ip.parse().unwrap(), 0))
        .unwrap();
    socket.connect(to).await.unwrap()
}

api_tests! {
    async fn a_client_that_sends_its_headers_slowly_is_dropped(app: TestApp) {
        let app = strict(app).await;
        // Half a request, then a byte every 100 ms: never the blank line that ends the headers.
        let (answer, took) = dribble(app.addr, "GET /healthz HTTP/1.1\r\nHost: paygate\r\nX-Slow: ").await;
        // The server's clock starts at accept, which a loaded test runner may see a little before
        // its own connect returns: "about the deadline", not "to the millisecond".
        assert!(took >= DEADLINE / 2 && took < Duration::from_secs(5), "{took:?}");
        assert!(answer.is_empty(), "{answer}");
        // A client that connects and says nothing is dropped the same way.
        let mut silent = TcpStream::connect(app.addr).await.unwrap();
        let started = Instant::now();
        let (_, closed) = read_until_closed(&mut silent).await;
        let took = closed - started;
        assert!(took >= DEADLINE / 2 && took < Duration::from_secs(5), "{took:?}");
        // A normal client is unaffected.
        assert_eq!(app.get("/healthz").await.status, 200);
    }

    async fn a_client_that_sends_its_body_slowly_is_answered_408_and_dropped(app: TestApp) {
        let app = strict(app).await;
        for path in ["/pay/wechat/native", "/callbacks/wechat/1900000001"] {
            // The headers at once, then the body a byte every 100 ms: each byte arrives well within
            // any per-chunk timeout, the whole body never.
            let head = format!("POST {path} HTTP/1.1\r\nHost: paygate\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{");
            let (answer, took) = dribble(app.addr, &head).await;
            assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
            assert!(answer.contains("\"error\":\"request_timeout\""), "{answer}");
            // The server's clock starts at accept, which a loaded test runner may see a little before
        // its own connect returns: "about the deadline", not "to the millisecond".
        assert!(took >= DEADLINE / 2 && took < Duration::from_secs(5), "{took:?}");
        }
    }

    async fn failed_signatures_from_one_address_are_slowed_down_and_good_ones_are_not(app: TestApp) {
        let app = strict(app).await;
        let guesser = client_from("127.0.0.4");
        let body = json!({"out_trade_no": "order_guess_1", "description": "x", "amount_total": 1}).to_string();
        let mut statuses = Vec::new();
        for _ in 0..15 {
            let r = guesser.post(format!("{}/pay/wechat/native", app.base))
                .header("X-1Pass-AK", app.site.access_key.as_str())
                .header("X-1Pass-Ts", unix_now().to_string())
                .header("X-1Pass-Nonce", fresh_nonce())
                .header("X-1Pass-Sign", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
                .body(body.clone())
                .send().await.unwrap();
            statuses.push(r.status().as_u16());
        }
        assert!(statuses[..5].iter().all(|s| *s == 401), "the burst is refused as unsigned: {statuses:?}");
        assert!(statuses.iter().filter(|s| **s == 429).count() >= 8, "then slowed down: {statuses:?}");
        // A site signing correctly from another address is not affected, however fast it sends.
        for i in 0..12 {
            let created = app.create_native(&json!({"out_trade_no": format!("order_guess_ok{i}"), "description": "x", "amount_total": 1})).await;
            created.assert_ok();
        }
        assert_eq!(app.sim_wechat_orders(), 12);
    }

    async fn a_flood_of_unsigned_requests_from_one_address_is_answered_429(app: TestApp) {
        let app = strict(app).await;
        let created = app.create_native(&json!({"out_trade_no": "order_flood_1", "description": "x", "amount_total": 1})).await;
        let checkout = created.assert_ok()["checkout_url"].as_str().unwrap().to_owned();
        let token = checkout.split("token=").nth(1).unwrap().to_owned();
        let flooder = client_from("127.0.0.2");
        let routes = [
            format!("/pay/wechat/status?token={token}"),
            format!("/pay/alipay/checkout?token={token}"),
            "/healthz".to_owned(),
        ];
        let mut statuses = Vec::new();
        for i in 0..30 {
            let url = format!("{}{}", app.base, routes[i % routes.len()]);
            let r = flooder.get(url).send().await.unwrap();
            statuses.push(r.status().as_u16());
            if r.status() == 429 {
                let retry_after: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                assert!((1..=2).contains(&retry_after), "{retry_after}");
                let body: serde_json::Value = r.json().await.unwrap();
                assert_eq!(body["error"], "rate_limited");
            }
        }
        assert!(statuses[..5].iter().all(|s| *s == 200), "the burst passes: {statuses:?}");
        assert!(statuses.iter().filter(|s| **s == 429).count() >= 20, "{statuses:?}");
        // A channel callback from the same address is counted too (it costs a signature check).
        let callback = flooder.post(format!("{}/callbacks/wechat/1900000001", app.base)).body("{}").send().await.unwrap();
        assert_eq!(callback.status(), 429);
        // Another address is not affected…
        let other = client_from("127.0.0.3");
        let r = other.get(format!("{}/pay/wechat/status?token={token}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        // …nor are the sites' signed requests, even from the flooding address, however many.
        for i in 0..12 {
            let body = json!({"out_trade_no": format!("order_flood_s{i}"), "description": "x", "amount_total": 1}).to_string();
            let (ts, nonce) = (unix_now().to_string(), fresh_nonce());
            let sign = seed_sign(app.site.secret_key.expose(), &ts, &nonce, "POST", "/pay/wechat/native", body.as_bytes());
            let r = flooder.post(format!("{}/pay/wechat/native", app.base))
                .header("X-1Pass-AK", app.site.access_key.as_str())
                .header("X-1Pass-Ts", ts)
                .header("X-1Pass-Nonce", nonce)
                .header("X-1Pass-Sign", sign)
                .body(body)
                .send().await.unwrap();
            assert_eq!(r.status(), 200, "{:?}", r.text().await);
        }
        // An unsigned request to a signed route is refused by its signature check, not the limit.
        let mut flooding = connect_from("127.0.0.2", app.addr).await;
        flooding.write_all(b"POST /v1/orders HTTP/1.1\r\nHost: paygate\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}").await.unwrap();
        let (answer, _) = read_until_closed(&mut flooding).await;
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    }
}
