//! An H5 order's pay link, `{base_url}/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=…&package=…`:
//! WeChat's path on the simulator's own host, so a phone browser can really open it.
//!
//! Like WeChat's, a link lasts five minutes. Creating the same order again (same out_trade_no, same
//! content) answers the same prepay_id in a fresh link, with a new `package` and five more
//! minutes; only that latest link opens the page, so a merchant that lost or let a link go stale
//! simply asks again.

use axum::http::StatusCode;
use serde_json::json;

use crate::wechat::scope::expire_if_due;
use crate::wechat::state::{Answer, H5Link, Order, TradeState};

/// The pay page's path, WeChat's own.
pub const PATH: &str = "/cgi-bin/mmpayweb-bin/checkmweb";
/// How long a link opens the pay page, in seconds.
pub const LIFETIME_SECS: i64 = 300;

/// Gives an H5 order a fresh link and makes it what the create call answers. An order kept by an
/// older simulator has no prepay_id to put in a link: it keeps its old answer.
pub fn reissue(order: &mut Order, base_url: &str, now: i64) {
    let Some(prepay_id) = order.prepay_id.clone() else {
        return;
    };
    let link = H5Link {
        package: new_package(),
        issued: now,
    };
    order.prepay = Answer::of(&json!({ "h5_url": url(base_url, &prepay_id, &link.package) }));
    order.h5_link = Some(link);
}

/// A `package` as WeChat writes it: a number of up to ten digits.
pub fn new_package() -> String {
    let mut b = [0u8; 4];
    channel_core::nonce::fill(&mut b);
    u32::from_be_bytes(b).to_string()
}

fn url(base_url: &str, prepay_id: &str, package: &str) -> String {
    format!("{base_url}{PATH}?prepay_id={prepay_id}&package={package}")
}

/// Why a link does not lead to a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    Paid,
    Closed,
    /// Past its five minutes, or not the order's latest link.
    Expired,
}

impl Refusal {
    pub fn status(self) -> StatusCode {
        match self {
            Self::Unknown => StatusCode::NOT_FOUND,
            Self::Paid | Self::Closed => StatusCode::CONFLICT,
            Self::Expired => StatusCode::FORBIDDEN,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Self::Unknown => "订单不存在",
            Self::Paid => "订单已支付",
            Self::Closed => "订单已关闭",
            Self::Expired => "链接已失效",
        }
    }
}

/// Whether the link `package` of `order` can pay it at `now`. The order's own state comes first:
/// a paid order says so however old the link is.
pub fn check(order: &Order, package: &str, now: i64) -> Result<(), Refusal> {
    let mut o = order.clone();
    expire_if_due(&mut o, now);
    match o.state {
        TradeState::NotPay | TradeState::PayError => {}
        TradeState::Success | TradeState::Refund => return Err(Refusal::Paid),
        TradeState::Closed => return Err(Refusal::Closed),
    }
    match &o.h5_link {
        Some(link) if link.package == package && now - link.issued < LIFETIME_SECS => Ok(()),
        _ => Err(Refusal::Expired),
    }
}

/// Makes the order's current link expire now (control API, so tests need not wait five minutes).
pub fn expire(order: &mut Order, now: i64) {
    if let Some(link) = &mut order.h5_link {
        link.issued = link.issued.min(now - LIFETIME_SECS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::state::TradeType;

    fn order() -> Order {
        Order {
            mchid: "1900000109".into(),
            sub_mchid: None,
            appid: "wxd678efh567hg6787".into(),
            sub_appid: None,
            out_trade_no: "h5_000001".into(),
            transaction_id: None,
            trade_type: TradeType::H5,
            state: TradeState::NotPay,
            description: "QQ公仔".into(),
            attach: None,
            notify_url: "https://m.example.com/n".into(),
            total: 1,
            currency: "CNY".into(),
            time_expire: None,
            openid: None,
            sub_openid: false,
            prepay: Answer::none(),
            prepay_id: Some("wx2024010112000012345678901234567890ab".into()),
            h5_link: None,
            request: crate::wechat::state::RequestDigest::of(&serde_json::Value::Null),
            success_time: None,
            refunded: 0,
            combine: None,
            created: 1000,
            bill_total: None,
            fund_flow_fee: None,
            fee_returned: 0,
        }
    }

    fn package(o: &Order) -> String {
        o.h5_link.as_ref().unwrap().package.clone()
    }

    #[test]
    fn a_link_opens_the_page_for_five_minutes() {
        let mut o = order();
        reissue(&mut o, "http://127.0.0.1:1", 1000);
        let answer = o.prepay.to_value();
        let url = answer["h5_url"].as_str().unwrap();
        assert!(
            url.starts_with(
                "http://127.0.0.1:1/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx2024010112"
            ),
            "{url}"
        );
        assert!(url.ends_with(&format!("&package={}", package(&o))));
        let p = package(&o);
        assert_eq!(check(&o, &p, 1000 + LIFETIME_SECS - 1), Ok(()));
        assert_eq!(check(&o, &p, 1000 + LIFETIME_SECS), Err(Refusal::Expired));
        assert_eq!(check(&o, "123", 1001), Err(Refusal::Expired));
    }

    #[test]
    fn a_fresh_link_replaces_the_old_one() {
        let mut o = order();
        reissue(&mut o, "http://sim", 1000);
        let old = package(&o);
        reissue(&mut o, "http://sim", 1200);
        let new = package(&o);
        if old != new {
            assert_eq!(check(&o, &old, 1201), Err(Refusal::Expired));
        }
        assert_eq!(check(&o, &new, 1200 + LIFETIME_SECS - 1), Ok(()));
        expire(&mut o, 1201);
        assert_eq!(check(&o, &new, 1201), Err(Refusal::Expired));
    }

    #[test]
    fn the_order_state_comes_first() {
        let mut o = order();
        reissue(&mut o, "http://sim", 1000);
        let p = package(&o);
        o.state = TradeState::PayError;
        assert_eq!(check(&o, &p, 1001), Ok(()));
        o.state = TradeState::Success;
        assert_eq!(check(&o, &p, 9999), Err(Refusal::Paid));
        o.state = TradeState::NotPay;
        o.time_expire = Some(1001);
        assert_eq!(check(&o, &p, 1001), Err(Refusal::Closed));
        let mut legacy = order();
        legacy.prepay_id = None;
        reissue(&mut legacy, "http://sim", 1000);
        assert!(legacy.h5_link.is_none() && legacy.prepay.is_none());
    }
}
