//! The requests a benchmark sends, as a site, a payer's browser and the simulated payer send them:
//! each signed and checked as in `paygate demo`, over one HTTP client whose keep-alive connections
//! every request shares.

use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

use crate::cli::merchant::signed_post;

/// What every benchmark order costs, in fen (seed 000's example amount).
pub const TOTAL: i64 = 2990;

#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    base: String,
    ak: String,
    sk: String,
}

impl Client {
    pub fn new(base: &str, ak: String, sk: String) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .no_proxy()
            // Open-loop runs past what paygate can do queue for a long time; they must not be
            // cut short into errors that are only the client's patience.
            .timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(2048)
            .tcp_nodelay(true)
            .build()
            .context("HTTP client")?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            ak,
            sk,
        })
    }

    /// `POST /pay/wechat/native` (seed 000): a WeChat Native order; its checkout token.
    pub async fn create_native(&self, out_trade_no: &str) -> Result<String, String> {
        let body =
            json!({"out_trade_no": out_trade_no, "description": "VIP月卡", "amount_total": TOTAL});
        let answer = self.post_signed("/pay/wechat/native", &body).await?;
        let url = answer["checkout_url"].as_str().unwrap_or_default();
        url.split_once("token=")
            .map(|(_, token)| token.to_owned())
            .filter(|token| token.starts_with("ck_"))
            .ok_or_else(|| format!("no checkout token in {answer}"))
    }

    /// `POST /v1/orders/{no}/refunds` for the whole order.
    pub async fn refund(&self, out_trade_no: &str, out_refund_no: &str) -> Result<(), String> {
        let body =
            json!({"out_refund_no": out_refund_no, "amount": TOTAL, "reason": "paygate bench"});
        let path = format!("/v1/orders/{out_trade_no}/refunds");
        let answer = self.post_signed(&path, &body).await?;
        match answer["status"].as_str() {
            Some("processing" | "succeeded") => Ok(()),
            _ => Err(format!("refund {out_refund_no}: {answer}")),
        }
    }

    /// `GET /pay/wechat/status?token=…`, as the checkout page polls it.
    pub async fn status(&self, token: &str) -> Result<(), String> {
        let url = format!("{}/pay/wechat/status?token={token}", self.base);
        self.get_ok(&url).await
    }

    /// `GET /healthz`: paygate's HTTP stack and nothing else.
    pub async fn healthz(&self) -> Result<(), String> {
        self.get_ok(&format!("{}/healthz", self.base)).await
    }

    /// The payer pays in the simulator (`POST /sandbox/pay`, as the checkout page's sandbox button
    /// does), which then calls paygate back.
    pub async fn pay(&self, token: &str) -> Result<(), String> {
        let url = format!("{}/sandbox/pay?token={token}", self.base);
        let response = self
            .http
            .post(url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() && text.contains("\"paid\":true") {
            Ok(())
        } else {
            Err(format!("POST /sandbox/pay answered {status}: {text}"))
        }
    }

    /// `GET /pay/events?token=…` held open: the stream, once paygate has sent its first event.
    pub async fn open_stream(&self, token: &str) -> Result<reqwest::Response, String> {
        let url = format!("{}/pay/events?token={token}", self.base);
        let mut response = self
            .http
            .get(url)
            .header("Accept", "text/event-stream")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("GET /pay/events answered {}", response.status()));
        }
        match response.chunk().await {
            Ok(Some(_)) => Ok(response),
            Ok(None) => Err("the status stream ended at once".to_owned()),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn get_ok(&self, url: &str) -> Result<(), String> {
        let response = self.http.get(url).send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("{status}: {}", String::from_utf8_lossy(&body)))
        }
    }

    async fn post_signed(&self, path: &str, body: &Value) -> Result<Value, String> {
        let response = signed_post(&self.http, &self.base, &self.ak, &self.sk, path, body)
            .map_err(|e| format!("POST {path}: {e:#}"))?
            .send()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        if !status.is_success() {
            return Err(format!("POST {path} answered {status}: {text}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("POST {path}: {e}: {text}"))
    }
}
