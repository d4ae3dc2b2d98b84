//! The demo's steps, in order: paygate started, a site created with its receiver, then on each
//! channel an order created by the route a site would use, paid by the simulated payer, its
//! notification verified, part of it refunded and that notification verified. Each step returns
//! what it made and one line saying what happened.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow, bail, ensure};
use serde_json::{Value, json};

use super::instance::Paygate;
use super::receiver::{Bound, Receiver};
use super::{Steps, secs};
use crate::cli::common::yuan;
use crate::cli::merchant::Site;

/// Every step a full run shows: paygate, the site, its receiver, then five per channel.
pub const STEPS: usize = 3 + 5 * 2;
/// What each order costs and how much of it is refunded, in fen (seed 000's example amount).
const TOTAL: i64 = 2990;
const REFUND: i64 = 1000;

/// Step 1.
pub async fn start(data_dir: &Path, within: Duration) -> anyhow::Result<(Paygate, String)> {
    let paygate = tokio::time::timeout(within, Paygate::start(data_dir))
        .await
        .map_err(|_| anyhow!("paygate did not start within {}", secs(within)))??;
    let said = format!(
        "in this process, as `paygate serve` runs it: API {}, WeChat Pay and Alipay simulated at {}",
        paygate.url, paygate.sim_url
    );
    Ok((paygate, said))
}

/// Steps 2 onwards, over a running paygate; the receiver goes into `receiver`.
pub async fn tour(
    steps: &mut Steps,
    paygate: &Paygate,
    receiver: &mut Option<Receiver>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let (site, bound) = steps
        .run("site created", create_site(paygate, timeout))
        .await?;
    let listening = steps
        .run("receiver listening", listen(bound, &site))
        .await?;
    let receiver = receiver.insert(listening);
    for channel in [Channel::Wechat, Channel::Alipay] {
        pay_and_refund(steps, &site, receiver, channel, timeout).await?;
    }
    Ok(())
}

/// Step 3: the receiver answers from now on, checking signatures with the new site's SK.
async fn listen(bound: Bound, site: &Site) -> anyhow::Result<(Receiver, String)> {
    let receiver = bound.start(site.sk());
    let said = format!(
        "{} checks each notification's X-1Pass-Sign with the site's SK, as a site would",
        receiver.url
    );
    Ok((receiver, said))
}

/// Step 2: the receiver's port is taken first, since the site's notify URL names it.
async fn create_site(
    paygate: &Paygate,
    timeout: Duration,
) -> anyhow::Result<((Site, Bound), String)> {
    let bound = Bound::bind().await?;
    let keys = paygate.create_site(&bound.url).await?;
    let site = Site::new(keys.site_id, keys.ak, keys.sk, &paygate.url, timeout)?;
    let said = format!(
        "{}, AK {} (its SK stays in this process), notify_url {}",
        site.site_id, site.ak, bound.url
    );
    Ok(((site, bound), said))
}

/// The two channels the demo pays through, each by the route a site would use for it.
#[derive(Debug, Clone, Copy)]
enum Channel {
    /// Seed 000's route, `POST /pay/wechat/native`.
    Wechat,
    /// The general API, `POST /v1/orders` with `alipay` / `qr`.
    Alipay,
}

impl Channel {
    fn name(self) -> &'static str {
        match self {
            Self::Wechat => "WeChat",
            Self::Alipay => "Alipay",
        }
    }

    /// The payment channel, by its own name.
    fn upstream(self) -> &'static str {
        match self {
            Self::Wechat => "WeChat Pay",
            Self::Alipay => "Alipay",
        }
    }

    fn out_trade_no(self) -> &'static str {
        match self {
            Self::Wechat => "demo_wechat_order",
            Self::Alipay => "demo_alipay_order",
        }
    }

    fn out_refund_no(self) -> &'static str {
        match self {
            Self::Wechat => "demo_wechat_refund",
            Self::Alipay => "demo_alipay_refund",
        }
    }

    /// The route and body that create the order.
    fn create(self) -> (&'static str, Value) {
        let no = self.out_trade_no();
        match self {
            Self::Wechat => (
                "/pay/wechat/native",
                json!({"out_trade_no": no, "description": "VIP月卡", "amount_total": TOTAL}),
            ),
            Self::Alipay => (
                "/v1/orders",
                json!({
                    "out_trade_no": no, "channel": "alipay", "method": "qr",
                    "description": "VIP月卡", "amount_total": TOTAL,
                }),
            ),
        }
    }

    /// What the payer scans, from the creation answer: its name and value.
    fn pay_code(self, created: &Value) -> (&'static str, Option<&str>) {
        match self {
            Self::Wechat => ("code_url", created["code_url"].as_str()),
            Self::Alipay => ("qr_code", created["pay_params"]["qr_code"].as_str()),
        }
    }

    /// How the channel ends a refund, as the demo sees it.
    fn refund_note(self) -> &'static str {
        match self {
            Self::Wechat => "WeChat Pay settles it on its own a moment later",
            Self::Alipay => "Alipay answers at once",
        }
    }
}

/// Five steps: the order created, paid in the simulator, its notification, a partial refund and
/// the refund's notification.
async fn pay_and_refund(
    steps: &mut Steps,
    site: &Site,
    receiver: &mut Receiver,
    channel: Channel,
    timeout: Duration,
) -> anyhow::Result<()> {
    let name = channel.name();
    let token = steps
        .run(
            &format!("{name} order created"),
            create_order(site, channel),
        )
        .await?;
    steps
        .run(&format!("{name} order paid"), pay(site, channel, &token))
        .await?;
    steps
        .run(
            &format!("{name} payment notified"),
            payment_notified(receiver, channel, timeout),
        )
        .await?;
    steps
        .run(&format!("{name} refund asked"), refund(site, channel))
        .await?;
    steps
        .run(
            &format!("{name} refund notified"),
            refund_notified(receiver, channel, timeout),
        )
        .await
}

/// Returns the order's checkout token, which the simulated payer pays by.
async fn create_order(site: &Site, channel: Channel) -> anyhow::Result<(String, String)> {
    let (route, body) = channel.create();
    let created = site.post_signed(route, &body).await?;
    let status = created["status"].as_str().unwrap_or("?");
    ensure!(
        status == "pending",
        "POST {route} → {status}, expected pending"
    );
    let (code_name, code) = channel.pay_code(&created);
    let code = code.with_context(|| format!("POST {route} → pending, but no {code_name}"))?;
    let token = checkout_token(&created)?;
    let said = format!(
        "POST {route} (signed) → {status}, ¥{}, {code_name} {}",
        yuan(TOTAL),
        shorten(code, 80)
    );
    Ok((token, said))
}

/// The `ck_…` token of the answer's `checkout_url` (`…?token=ck_…` or `…/checkout/ck_…`).
fn checkout_token(created: &Value) -> anyhow::Result<String> {
    let url = created["checkout_url"]
        .as_str()
        .context("the answer has no checkout_url")?;
    let token = url
        .rsplit(['=', '/'])
        .next()
        .filter(|t| t.starts_with("ck_"))
        .with_context(|| format!("no checkout token in {url}"))?;
    Ok(token.to_owned())
}

async fn pay(site: &Site, channel: Channel, token: &str) -> anyhow::Result<((), String)> {
    let answer = site
        .post_unsigned(&format!("/sandbox/pay?token={token}"))
        .await?;
    ensure!(
        answer["paid"] == json!(true),
        "POST /sandbox/pay did not pay: {answer}"
    );
    let said = format!(
        "POST /sandbox/pay → the simulated payer paid; {} calls paygate back",
        channel.upstream()
    );
    Ok(((), said))
}

async fn payment_notified(
    receiver: &mut Receiver,
    channel: Channel,
    timeout: Duration,
) -> anyhow::Result<((), String)> {
    let n = receiver
        .next("TRANSACTION.SUCCESS", channel.out_trade_no(), timeout)
        .await?;
    expect(&n, "trade_state", &json!("SUCCESS"))?;
    expect(&n["amount"], "total", &json!(TOTAL))?;
    let said = format!(
        "TRANSACTION.SUCCESS, signature verified: {} paid ¥{}, transaction_id {}, livemode {}",
        channel.out_trade_no(),
        yuan(TOTAL),
        n["transaction_id"].as_str().unwrap_or("-"),
        n["livemode"]
    );
    Ok(((), said))
}

async fn refund(site: &Site, channel: Channel) -> anyhow::Result<((), String)> {
    let route = format!("/v1/orders/{}/refunds", channel.out_trade_no());
    let body = json!({
        "out_refund_no": channel.out_refund_no(), "amount": REFUND, "reason": "paygate demo",
    });
    let answer = site.post_signed(&route, &body).await?;
    let status = answer["status"].as_str().unwrap_or("?");
    ensure!(
        matches!(status, "processing" | "succeeded"),
        "POST {route} → {status}: {}",
        answer["failure_reason"]
    );
    let said = format!(
        "POST {route} (signed) ¥{} of ¥{} → {status} ({})",
        yuan(REFUND),
        yuan(TOTAL),
        channel.refund_note()
    );
    Ok(((), said))
}

async fn refund_notified(
    receiver: &mut Receiver,
    channel: Channel,
    timeout: Duration,
) -> anyhow::Result<((), String)> {
    let n = receiver
        .next("REFUND.SUCCESS", channel.out_trade_no(), timeout)
        .await?;
    expect(&n, "out_refund_no", &json!(channel.out_refund_no()))?;
    expect(&n, "refund_status", &json!("succeeded"))?;
    expect(&n["amount"], "refund", &json!(REFUND))?;
    let said = format!(
        "REFUND.SUCCESS, signature verified: ¥{} back to the payer, ¥{} of the order left",
        yuan(REFUND),
        yuan(TOTAL - REFUND)
    );
    Ok(((), said))
}

/// `object[field]` is `want`, or an error saying what it was.
fn expect(object: &Value, field: &str, want: &Value) -> anyhow::Result<()> {
    let got = &object[field];
    if got != want {
        bail!("the notification's {field} is {got}, expected {want}");
    }
    Ok(())
}

/// At most `max` characters of `text`, an ellipsis marking a cut.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkout_token_is_found_in_both_url_forms() {
        for url in [
            "http://127.0.0.1:1/pay/wechat/checkout?token=ck_abc",
            "http://127.0.0.1:1/checkout/ck_abc",
        ] {
            let token = checkout_token(&json!({ "checkout_url": url })).unwrap();
            assert_eq!(token, "ck_abc", "{url}");
        }
        assert!(checkout_token(&json!({ "checkout_url": "http://x/checkout/" })).is_err());
        assert!(checkout_token(&json!({})).is_err());
    }

    #[test]
    fn long_codes_are_shortened_on_a_character_boundary() {
        assert_eq!(shorten("weixin://wxpay", 40), "weixin://wxpay");
        assert_eq!(shorten("月卡月卡", 2), "月卡…");
    }
}
