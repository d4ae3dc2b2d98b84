//! The hosted checkout page: what it shows for each state of an order, in which language, under
//! which headers, with a QR code a phone can read; its error page; and `return_url`, from the
//! create request to the page's redirect and Alipay's cashier.

use std::time::Duration;

use base64::Engine as _;
use gateway::domain::OrderStatus;
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::api_tests;
use crate::support::app::{Reply, TestApp, sandbox_keys};

fn seed_order(no: &str) -> Value {
    json!({"out_trade_no": no, "description": "VIP月卡", "amount_total": 2990, "currency": "CNY", "expire_minutes": 15})
}

/// The path of a created order's `checkout_url`, and its token.
fn checkout_of(app: &TestApp, created: &Reply) -> (String, String) {
    let url = created.assert_ok()["checkout_url"].as_str().unwrap();
    let path = url.strip_prefix(&app.public_url).unwrap().to_owned();
    let token = path.split("token=").nth(1).unwrap().to_owned();
    (path, token)
}

pub(crate) async fn get_with(app: &TestApp, path: &str, accept_language: &str) -> Reply {
    let resp = app
        .http
        .get(format!("{}{path}", app.base))
        .header("accept-language", accept_language)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    Reply {
        status,
        json: Value::Null,
        text,
        headers,
    }
}

/// The text of the element with `data-testid="{id}"` (its first text run, tags not included).
pub(crate) fn testid(page: &str, id: &str) -> Option<String> {
    let at = page.find(&format!("data-testid=\"{id}\""))?;
    let rest = &page[at..];
    let open = rest.find('>')? + 1;
    let close = rest[open..].find('<')?;
    Some(rest[open..open + close].to_owned())
}

/// `data-status` of the status element.
pub(crate) fn page_status(page: &str) -> String {
    let at = page.find("data-testid=\"status\"").unwrap();
    let rest = &page[at..];
    rest.split("data-status=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

/// The `<svg>` inside `data-testid="qr"`.
pub(crate) fn qr_svg(page: &str) -> Option<&str> {
    let at = page.find("data-testid=\"qr\"")?;
    let start = at + page[at..].find("<svg")?;
    let end = start + page[start..].find("</svg>")? + "</svg>".len();
    Some(&page[start..end])
}

/// Reads the QR code as a scanner would: the SVG's module squares drawn onto a bitmap (4 pixels
/// a module), then decoded by `rqrr`, which knows nothing of how paygate drew them.
pub(crate) fn scan(svg: &str) -> String {
    let size: usize = svg
        .split("viewBox=\"0 0 ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let d = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let mut dark = vec![false; size * size];
    for rect in d.split('M').filter(|s| !s.is_empty()) {
        // `{x} {y}h{n}v1h-{n}z`: a run of n dark modules from (x, y).
        let (xy, rest) = rect.split_once('h').unwrap();
        let (x, y) = xy.split_once(' ').unwrap();
        let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
        let n: usize = rest.split('v').next().unwrap().parse().unwrap();
        for i in x..x + n {
            dark[y * size + i] = true;
        }
    }
    let scale = 4;
    let px = size * scale;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(px, px, |x, y| {
        if dark[(y / scale) * size + x / scale] {
            0
        } else {
            255
        }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the SVG");
    grids[0].decode().unwrap().1
}

fn sha256_source(content: &str) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(content))
    )
}

fn between<'a>(page: &'a str, open: &str, close: &str) -> &'a str {
    page.split(open)
        .nth(1)
        .unwrap()
        .split(close)
        .next()
        .unwrap()
}

/// Waits until paygate has recorded `status` for the demo site's order `no`.
async fn until_status(app: &TestApp, no: &str, status: OrderStatus) {
    for _ in 0..200 {
        if app.stored_status(&app.site, no).await == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("order {no} never became {status:?}");
}

api_tests! {
    async fn the_page_shows_the_order_and_a_qr_code_of_its_pay_url(app: TestApp) {
        let created = app.create_native(&seed_order("order_page_1")).await;
        let code_url = created.assert_ok()["code_url"].as_str().unwrap().to_owned();
        let (path, _) = checkout_of(&app, &created);
        let page = app.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(page.headers["content-type"].to_str().unwrap().starts_with("text/html"));
        let html = &page.text;
        assert!(html.len() < 30 * 1024, "{} bytes", html.len());
        assert!(html.contains("<html lang=\"zh-CN\">"));
        assert_eq!(testid(html, "amount").unwrap(), "¥29.90");
        assert_eq!(testid(html, "description").unwrap(), "VIP月卡");
        assert_eq!(testid(html, "site-name").unwrap(), "demo");
        assert_eq!(page_status(html), "pending");
        let countdown = testid(html, "countdown").unwrap();
        assert!(["15:00", "14:59", "14:58"].contains(&countdown.as_str()), "{countdown}");
        assert!(testid(html, "refresh").is_some());
        assert_eq!(scan(qr_svg(html).unwrap()), code_url);
        // No resource from anywhere: everything is inline.
        for outside in ["<link", "<img", "src=", "@import", "url("] {
            assert!(!html.contains(outside), "{outside}");
        }

        // An Alipay QR order: the code is Alipay's qr_code.
        let created = app.create_order(&json!({"out_trade_no": "order_page_2", "channel": "alipay", "method": "qr",
            "description": "年度会员 <b>", "amount_total": 1})).await;
        let qr_code = created.assert_ok()["pay_params"]["qr_code"].as_str().unwrap().to_owned();
        let (path, _) = checkout_of(&app, &created);
        let html = app.get(&path).await.text;
        assert_eq!(testid(&html, "amount").unwrap(), "¥0.01");
        assert_eq!(testid(&html, "description").unwrap(), "年度会员 &#60;b&#62;", "escaped");
        assert_eq!(scan(qr_svg(&html).unwrap()), qr_code);
        assert!(html.contains("data-status-url=\"/pay/alipay/status?token="));
    }

    async fn the_page_is_served_under_a_strict_policy_that_names_its_inline_style_and_script(app: TestApp) {
        let created = app.create_native(&seed_order("order_page_csp")).await;
        let (path, _) = checkout_of(&app, &created);
        let page = app.get(&path).await;
        let header = |name: &str| page.headers[name].to_str().unwrap().to_owned();
        let csp = header("content-security-policy");
        let style = between(&page.text, "<style>", "</style>");
        let script = between(&page.text, "<script>", "</script>");
        let want = format!(
            "default-src 'none'; script-src {}; style-src {}; img-src data:; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            sha256_source(script), sha256_source(style));
        assert_eq!(csp, want, "sandbox: the simulate form posts back to paygate");
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(page.text.matches("<script").count(), 1, "one inline script");
        assert_eq!(page.text.matches("<style").count(), 1, "one inline style");
        assert_eq!(header("x-frame-options"), "DENY");
        assert_eq!(header("referrer-policy"), "strict-origin", "the origin only: the token is in the path");
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("cache-control"), "no-store");
    }

    async fn english_when_asked_for_or_preferred_chinese_otherwise(app: TestApp) {
        let created = app.create_native(&seed_order("order_page_lang")).await;
        let (path, token) = checkout_of(&app, &created);
        for (query, accept) in [("&lang=en", "zh-CN"), ("", "en-US,en"), ("", "en-GB,en;q=0.9,zh;q=0.5")] {
            let page = get_with(&app, &format!("{path}{query}"), accept).await;
            assert_eq!(page.status, 200);
            assert!(page.text.contains("<html lang=\"en\">"), "{query} {accept}");
            assert!(page.text.contains("Scan the QR code with WeChat"));
            assert_eq!(testid(&page.text, "status").unwrap(), "Waiting for payment");
        }
        let short = get_with(&app, &format!("/checkout/{token}?lang=en"), "zh-CN").await;
        assert!(short.text.contains("<html lang=\"en\">"));
        assert!(short.text.contains(&format!("href=\"/checkout/{token}?lang=en\"")), "the refresh link keeps the language");
        for accept in ["zh-CN,zh;q=0.9,en;q=0.8", "fr", ""] {
            let page = get_with(&app, &path, accept).await;
            assert!(page.text.contains("<html lang=\"zh-CN\">"), "{accept}");
            assert_eq!(testid(&page.text, "status").unwrap(), "等待支付");
        }
    }

    async fn the_short_path_serves_the_same_page(app: TestApp) {
        let created = app.create_native(&seed_order("order_page_short")).await;
        let (path, token) = checkout_of(&app, &created);
        let seed = app.get(&path).await;
        let short = app.get(&format!("/checkout/{token}")).await;
        assert_eq!(short.status, 200);
        assert_eq!(short.headers["content-security-policy"], seed.headers["content-security-policy"]);
        for id in ["amount", "description", "site-name", "status"] {
            assert_eq!(testid(&short.text, id), testid(&seed.text, id), "{id}");
        }
        assert_eq!(qr_svg(&short.text), qr_svg(&seed.text));
        assert!(seed.text.contains(&format!("href=\"/pay/wechat/checkout?token={token}\"")), "refresh reloads the seed path");
        assert!(short.text.contains(&format!("href=\"/checkout/{token}\"")), "refresh reloads the short path");
    }

    async fn paid_closed_failed_refunded_and_expired_orders_show_their_state(app: TestApp) {
        // Paid in the simulator: the page says so once paygate has recorded it, without a QR code.
        let created = app.create_native(&seed_order("order_state_paid")).await;
        let (path, _) = checkout_of(&app, &created);
        app.sim_wechat_pay(&app.site, "order_state_paid").await;
        until_status(&app, "order_state_paid", OrderStatus::Paid).await;
        let html = app.get(&path).await.text;
        assert_eq!(page_status(&html), "paid");
        assert_eq!(testid(&html, "status").unwrap(), "支付成功");
        assert!(qr_svg(&html).is_none() && !html.contains("data-testid=\"simulate-pay\""));
        assert!(!html.contains("http-equiv=\"refresh\""), "no return_url, no redirect");

        // Closed by the site before it expired.
        let created = app.create_native(&seed_order("order_state_closed")).await;
        let (path, _) = checkout_of(&app, &created);
        app.close_order("order_state_closed").await.assert_ok();
        let html = app.get(&path).await.text;
        assert_eq!(page_status(&html), "closed");
        assert!(qr_svg(&html).is_none());

        // The rest set in the database: what counts is what paygate has recorded.
        let cases = [
            ("order_state_failed", "status = 'failed'", "failed"),
            ("order_state_refunded", "status = 'refunded', paid_at = created_at", "refunded"),
            // Still pending but past its expiry: the countdown is over.
            ("order_state_late", "expires_at = created_at + 1", "expired"),
            // Closed when it expired.
            ("order_state_expired", "status = 'closed', expires_at = created_at + 1, closed_at = created_at + 1", "expired"),
        ];
        for (no, set, state) in cases {
            let created = app.create_native(&seed_order(no)).await;
            let (path, _) = checkout_of(&app, &created);
            app.db.execute(&format!("UPDATE orders SET {set} WHERE out_trade_no = '{no}'")).await;
            let html = app.get(&path).await.text;
            assert_eq!(page_status(&html), state, "{no}");
            assert!(qr_svg(&html).is_none(), "{no}: nothing to scan");
            if state == "expired" {
                assert_eq!(testid(&html, "countdown").unwrap(), "00:00");
            }
        }
    }

    async fn the_simulate_button_is_shown_in_sandbox_mode_only(app: TestApp) {
        let created = app.create_native(&seed_order("order_page_sandbox")).await;
        let (path, token) = checkout_of(&app, &created);
        let html = app.get(&path).await.text;
        assert!(html.contains("data-testid=\"simulate-pay\""));
        assert!(html.contains(&format!("<form class=\"simulate\" method=\"post\" action=\"/sandbox/pay?token={token}\">")));
        assert!(html.contains("沙箱模式"));

        let live = TestApp::spawn_tuned(app.kill(), |s| s.sandbox = false).await;
        let page = live.get(&path).await;
        assert_eq!(page.status, 200);
        assert!(!page.text.contains("simulate-pay") && !page.text.contains("<form") && !page.text.contains("沙箱"));
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("form-action 'none'"), "no form may post anywhere: {csp}");
    }

    async fn links_that_name_no_order_get_the_html_error_page(app: TestApp) {
        let unknown = "ck_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        for path in [
            format!("/checkout/{unknown}"),
            "/checkout/not_a_token".to_owned(),
            "/checkout/ck_%3Cscript%3E".to_owned(),
            format!("/pay/wechat/checkout?token={unknown}"),
            "/pay/alipay/checkout?token=bad".to_owned(),
            "/pay/wechat/checkout".to_owned(),
            "/pay/wechat/checkout?token=".to_owned(),
        ] {
            let page = app.get(&path).await;
            assert_eq!(page.status, 404, "{path}");
            assert!(page.headers["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
            assert!(page.text.contains("data-testid=\"error\""), "{path}");
            assert!(page.json.is_null() && !page.text.contains("<script"), "{path}");
            assert!(!page.text.contains("<script>") && !page.text.contains("script%3E"), "{path}");
            assert_eq!(page.headers["x-frame-options"], "DENY");
            assert_eq!(page.headers["cache-control"], "no-store");
            assert!(page.headers["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'"));
        }
        let english = app.get(&format!("/checkout/{unknown}?lang=en")).await;
        assert!(english.text.contains("<html lang=\"en\">") && english.text.contains("payment link is invalid"));
        // The JSON API keeps its JSON errors.
        app.status(unknown).await.assert_error(404, "order_not_found");
        app.get("/no/such/route").await.assert_error(404, "not_found");
    }

    async fn return_url_round_trips_and_the_paid_page_leads_back_to_it(app: TestApp) {
        let return_url = "https://shop.example.com/orders/r1?from=paygate";
        let body = json!({"out_trade_no": "order_return_1", "channel": "wechat", "method": "native",
            "description": "VIP月卡", "amount_total": 2990, "return_url": return_url});
        let created = app.create_order(&body).await;
        assert_eq!(created.assert_ok()["return_url"], return_url);
        assert_eq!(app.get_order("order_return_1").await.assert_ok()["return_url"], return_url);
        // The same request again is the same order; another return_url is other content.
        app.create_order(&body).await.assert_ok();
        let mut other = body.clone();
        other["return_url"] = json!("https://shop.example.com/elsewhere");
        app.create_order(&other).await.assert_error(409, "out_trade_no_conflict");
        let mut without = body.clone();
        without.as_object_mut().unwrap().remove("return_url");
        app.create_order(&without).await.assert_error(409, "out_trade_no_conflict");
        // An order without one shows none.
        let plain = app.create_order(&json!({"out_trade_no": "order_return_0", "channel": "wechat", "method": "native",
            "description": "x", "amount_total": 1})).await;
        assert_eq!(plain.assert_ok()["return_url"], Value::Null);

        let (path, _) = checkout_of(&app, &created);
        let pending = app.get(&path).await.text;
        assert!(pending.contains("data-return-url=\"https://shop.example.com/orders/r1?from=paygate\""));
        assert!(!pending.contains("http-equiv=\"refresh\""), "not before it is paid");
        app.sim_wechat_pay(&app.site, "order_return_1").await;
        until_status(&app, "order_return_1", OrderStatus::Paid).await;
        let paid = app.get(&path).await.text;
        assert_eq!(page_status(&paid), "paid");
        assert!(paid.contains("<meta http-equiv=\"refresh\" content=\"2;url=https://shop.example.com/orders/r1?from=paygate\">"), "{paid}");

        for bad in [json!("javascript:alert(1)"), json!("/relative"), json!(format!("https://e.com/{}", "a".repeat(250))), json!(5)] {
            let mut body = body.clone();
            body["out_trade_no"] = json!("order_return_bad");
            body["return_url"] = bad.clone();
            let r = app.create_order(&body).await;
            r.assert_error(400, "invalid_return_url");
            assert_eq!(r.json["field"], "return_url", "{bad}");
        }
    }

    async fn an_alipay_page_or_wap_order_sends_its_return_url_to_alipay(app: TestApp) {
        let return_url = "https://shop.example.com/orders/wap?x=1";
        for (no, method) in [("order_return_wap", "wap"), ("order_return_page", "page")] {
            let created = app.create_order(&json!({"out_trade_no": no, "channel": "alipay", "method": method,
                "description": "VIP月卡", "amount_total": 2990, "return_url": return_url})).await;
            let url = created.assert_ok()["pay_params"]["url"].as_str().unwrap().to_owned();
            let sent: Vec<(String, String)> = url::Url::parse(&url).unwrap().query_pairs().into_owned().collect();
            assert!(sent.contains(&("return_url".to_owned(), return_url.to_owned())), "{url}");
            // The payer's browser opens the cashier: the simulator records the trade with it.
            let opened = app.http.get(&url).send().await.unwrap();
            assert!(opened.status().is_success(), "{}", opened.text().await.unwrap());
            let upstream = app.stored(&app.site, no).await.upstream_order_no;
            let key = format!("{}/{}", sandbox_keys().alipay_app_id, upstream.as_str());
            let mut recorded = Value::Null;
            for _ in 0..100 {
                let trades = test_support::sim::alipay_trades(app.sim_dir.path());
                if let Some(t) = trades.get(&key).or_else(|| trades.values().find(|t| t["out_trade_no"] == upstream.as_str())) {
                    recorded = t["return_url"].clone();
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert_eq!(recorded, return_url, "{no}");
            // The checkout page links to the cashier.
            let (path, _) = checkout_of(&app, &created);
            let html = app.get(&path).await.text;
            assert!(html.contains("前往支付宝支付") && qr_svg(&html).is_none(), "{no}");
        }
        // Without one, the request carries none (the sandbox app has no app-wide return URL).
        let created = app.create_order(&json!({"out_trade_no": "order_return_wap0", "channel": "alipay", "method": "wap",
            "description": "VIP月卡", "amount_total": 2990})).await;
        let url = created.assert_ok()["pay_params"]["url"].as_str().unwrap().to_owned();
        assert!(!url::Url::parse(&url).unwrap().query_pairs().any(|(k, _)| k == "return_url"), "{url}");
    }
}
