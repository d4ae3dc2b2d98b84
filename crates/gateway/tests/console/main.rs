//! The console over HTTP, as a browser uses it: signing in and out, the cookie and its session,
//! the forms' CSRF tokens and same-origin check, what each role sees and may do, the order search
//! and its pages, and the actions on an order reaching the same services as the API. A real
//! paygate on SQLite and on PostgreSQL, the simulators playing the channels; the browser here is a
//! plain HTTP client that keeps cookies and reads the pages (the headless-Chromium run is in
//! `crates/paygate/tests/console_browser.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
#[allow(dead_code)]
mod support;

mod actions;
mod anomalies;
mod attacks;
mod balance;
mod dashboard;
mod login;
mod notifications;
mod orders;
mod paths;
mod protocols;
mod reconciliation;
mod sites;
mod users;

use std::collections::BTreeMap;
use std::time::Duration;

use gateway::domain::{Actor, Email, OrderStatus, Password, Role, Site, Timestamp, User};
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::json;

use support::app::TestApp;

pub const PASSWORD: &str = "correct horse battery";

/// One scenario per `async fn`, each on a fresh paygate on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! console_tests {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $(
            mod $name {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    $crate::support::app::with_app($crate::support::Backend::Sqlite, |$app: TestApp| async move { let $app = $app; $body }).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    $crate::support::app::with_app($crate::support::Backend::Postgres, |$app: TestApp| async move { let $app = $app; $body }).await;
                }
            }
        )*
    };
}

/// A console user with [`PASSWORD`].
pub async fn user(app: &TestApp, email: &str, role: Role) -> User {
    app.accounts
        .create_user(
            Email::parse(email).unwrap(),
            role,
            Password::new(PASSWORD.to_owned()).unwrap(),
            Actor::Cli,
            Timestamp::now(),
        )
        .await
        .unwrap()
}

/// A page as the server answered it.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// Where a redirect leads.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The first CSRF token in the page's forms.
    pub fn csrf(&self) -> String {
        self.hidden("csrf")
            .unwrap_or_else(|| panic!("no csrf field in: {}", self.body))
    }

    /// The value of the first hidden field `name`.
    pub fn hidden(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_owned())
    }

    /// The `Set-Cookie` header that sets `name`, whole.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    #[track_caller]
    /// The value of the element with `data-testid="{testid}"` (its text up to the next tag).
    pub fn testid_text(&self, testid: &str) -> String {
        let marker = format!("data-testid=\"{testid}\">");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no {testid} in: {}", self.body))
            + marker.len();
        let end = self.body[start..].find('<').unwrap() + start;
        self.body[start..end].to_owned()
    }

    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "{}", self.body);
        self
    }

    #[track_caller]
    pub fn assert_contains(&self, text: &str) -> &Self {
        assert!(self.body.contains(text), "{text:?} not in: {}", self.body);
        self
    }

    #[track_caller]
    pub fn assert_lacks(&self, text: &str) -> &Self {
        assert!(!self.body.contains(text), "{text:?} in: {}", self.body);
        self
    }
}

/// A browser of the console: keeps its cookies, sends `Origin` on its POSTs (paygate's own, unless
/// told otherwise), never follows redirects (the tests look at them).
pub struct Browser {
    base: String,
    /// What its POSTs say they come from: `base`, unless the test says otherwise.
    pub origin: String,
    http: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self {
            base: app.base.clone(),
            origin: app.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    /// A form posted from paygate's own page.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let origin = self.origin.clone();
        self.post_from(path, fields, Some(&origin)).await
    }

    /// A form posted with `Origin: origin` (none when `None`).
    pub async fn post_from(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Page {
        let mut req = self.http.post(format!("{}{path}", self.base)).form(fields);
        if let Some(origin) = origin {
            req = req.header("Origin", origin);
        }
        self.send(req).await
    }

    async fn send(&mut self, mut req: reqwest::RequestBuilder) -> Page {
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req = req.header("Cookie", cookie);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        for value in headers.get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = resp.text().await.unwrap();
        Page {
            status,
            headers,
            body,
        }
    }

    /// Signs in through the form; the answer to the form's POST.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/console/login").await;
        form.assert_status(200);
        let csrf = form.csrf();
        self.post(
            "/console/login",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }

    /// Signs in and asserts it worked.
    pub async fn signed_in(app: &TestApp, email: &str) -> Self {
        let mut browser = Self::new(app);
        let answer = browser.sign_in(email, PASSWORD).await;
        assert_eq!(answer.status, 303, "{}", answer.body);
        assert_eq!(answer.location(), Some("/console"));
        browser
    }

    /// The session's CSRF token, from the dashboard's sign-out form.
    pub async fn csrf(&mut self) -> String {
        self.get("/console").await.assert_status(200).csrf()
    }
}

/// An order of `amount_fen` created by `site` through the API (WeChat Native) and paid in the
/// simulator; its console id once paygate has recorded the payment.
pub async fn paid_order(app: &TestApp, site: &Site, no: &str, amount_fen: i64) -> i64 {
    let body = json!({"out_trade_no": no, "channel": "wechat", "method": "native",
        "description": "VIP年卡", "amount_total": amount_fen});
    app.create_order_as(site, &body).await.assert_ok();
    app.sim_wechat_pay(site, no).await;
    for _ in 0..200 {
        let order = app.stored(site, no).await;
        if order.status == OrderStatus::Paid {
            return order.id.as_i64();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("order {no} was never recorded as paid");
}

/// An order of 29.90 created by `site` through the API, left pending; its console id.
pub async fn pending_order(app: &TestApp, site: &Site, no: &str) -> i64 {
    let body = json!({"out_trade_no": no, "channel": "wechat", "method": "native",
        "description": "VIP月卡", "amount_total": 2990});
    app.create_order_as(site, &body).await.assert_ok();
    app.stored(site, no).await.id.as_i64()
}
