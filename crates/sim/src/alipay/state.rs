//! What the Alipay simulator remembers across restarts: registered apps (with the Alipay key made
//! for each), merchants' authorisations of apps (`app_auth_token`), trades with their refunds and
//! royalty settlements, and the royalty receivers bound to each app (or each merchant an app calls
//! for). `alipay.json` and its journal in the state dir.

use serde::{Deserialize, Serialize};

use crate::persist::{TrackedMap, journaled};

/// The whole persisted state.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AlipayState {
    pub apps: TrackedMap<String, App>,
    /// Keyed by [`trade_key`]: out_trade_no is unique per app, or per merchant the app calls for.
    pub trades: TrackedMap<String, Trade>,
    /// Keyed by [`relation_key`]: a receiver is bound once per app (or merchant it calls for).
    #[serde(default)]
    pub relations: TrackedMap<String, Relation>,
    /// Merchants' authorisations of service providers' apps, by `app_auth_token`.
    #[serde(default)]
    pub app_auths: TrackedMap<String, AppAuth>,
}

journaled!(AlipayState {
    apps,
    trades,
    relations,
    app_auths
});

/// A merchant's authorisation of a service provider's app (第三方应用授权): the app calls for the
/// merchant by sending `app_auth_token`. Shaped after `alipay.open.auth.token.app`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppAuth {
    /// The service provider's app the merchant authorised.
    pub app_id: String,
    pub app_auth_token: String,
    pub app_refresh_token: String,
    pub merchant: Merchant,
    pub issued_ms: i64,
}

/// The merchant a call acts for, and whose trades it made: its account (`user_id`, the PID
/// `2088…` that notifications name as `seller_id`) and its own app (`auth_app_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Merchant {
    pub user_id: String,
    pub auth_app_id: String,
}

/// A registered app: its public key (to verify requests) and the Alipay key pair made for it (to
/// sign answers), kept so the Alipay public key a merchant configured stays valid after restarts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct App {
    pub app_id: String,
    pub app_public_key_pem: String,
    pub alipay_private_key_pem: String,
    pub alipay_public_key_pem: String,
    /// Used when a payment names no `notify_url` (Alipay's console setting).
    pub notify_url: Option<String>,
}

/// Alipay's trade statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    WaitBuyerPay,
    TradeSuccess,
    TradeFinished,
    TradeClosed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WaitBuyerPay => "WAIT_BUYER_PAY",
            Self::TradeSuccess => "TRADE_SUCCESS",
            Self::TradeFinished => "TRADE_FINISHED",
            Self::TradeClosed => "TRADE_CLOSED",
        }
    }
}

/// A trade. Times are unix milliseconds (milliseconds because scaled test expiries are short).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trade {
    pub app_id: String,
    /// The merchant an app made the trade for with its `app_auth_token`; `None`: the app's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant: Option<Merchant>,
    pub out_trade_no: String,
    pub trade_no: String,
    /// The OpenAPI method that created it, e.g. `alipay.trade.precreate`.
    pub method: String,
    pub product_code: String,
    pub total_fen: i64,
    pub subject: String,
    pub body: Option<String>,
    pub passback_params: Option<String>,
    pub notify_url: Option<String>,
    pub return_url: Option<String>,
    pub quit_url: Option<String>,
    /// The payer a mini-program named at creation; else the sandbox buyer pays.
    pub buyer_id: Option<String>,
    pub buyer_open_id: Option<String>,
    pub status: Status,
    pub created_ms: i64,
    pub expires_ms: Option<i64>,
    pub paid_ms: Option<i64>,
    pub closed_ms: Option<i64>,
    pub refunds: Vec<Refund>,
    /// What Alipay's bill shows as the trade's amount when a test made it differ from
    /// `total_fen` (`POST /sim/alipay/trades/{no}/billed-amount`); `None`: the amount ordered.
    #[serde(default)]
    pub billed_fen: Option<i64>,
    /// The fee the `signcustomer` bill charges for the payment when a test made it differ from
    /// the trade bill's (`POST /sim/alipay/trades/{no}/account-fee`; `Some(0)`: no fee movement);
    /// `None`: the same fee.
    #[serde(default)]
    pub account_fee_fen: Option<i64>,
    /// Created with `extend_params.royalty_freeze`: the money waits for its settlements.
    #[serde(default)]
    pub royalty_freeze: bool,
    /// A settlement said `royalty_finish`: nothing is left to split.
    #[serde(default)]
    pub royalty_finished: bool,
    #[serde(default)]
    pub settlements: Vec<Settlement>,
}

/// One accepted `alipay.trade.order.settle`; the simulator settles synchronously, so every split
/// in it succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    pub out_request_no: String,
    pub settle_no: String,
    pub splits: Vec<Split>,
    pub royalty_finish: bool,
    pub at_ms: i64,
}

/// One transfer of a settlement, as the merchant asked for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    pub trans_out: String,
    pub trans_in_type: String,
    pub trans_in: String,
    pub amount_fen: i64,
    pub desc: Option<String>,
}

/// A royalty receiver bound to an app.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Relation {
    pub app_id: String,
    pub account_type: String,
    pub account: String,
    pub name: Option<String>,
    pub memo: Option<String>,
    pub bound_ms: i64,
}

pub fn relation_key(app_id: &str, account_type: &str, account: &str) -> String {
    format!("{app_id}/{account_type}/{account}")
}

/// One successful refund (Alipay refunds synchronously: there is no pending state to keep).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Refund {
    pub out_request_no: String,
    pub amount_fen: i64,
    pub reason: Option<String>,
    pub at_ms: i64,
}

impl Trade {
    /// The account the trade's money goes to: the authorising merchant's, else the app's.
    pub fn seller_id(&self) -> &str {
        self.merchant
            .as_ref()
            .map_or(SELLER_ID, |m| m.user_id.as_str())
    }

    /// The app the trade was made for: the authorising merchant's own app, else the caller's.
    pub fn auth_app_id(&self) -> &str {
        self.merchant
            .as_ref()
            .map_or(self.app_id.as_str(), |m| m.auth_app_id.as_str())
    }

    /// The amount the bill shows for the payment.
    pub fn billed_fen(&self) -> i64 {
        self.billed_fen.unwrap_or(self.total_fen)
    }

    pub fn refunded_fen(&self) -> i64 {
        self.refunds.iter().map(|r| r.amount_fen).sum()
    }

    pub fn settled_fen(&self) -> i64 {
        self.settlements
            .iter()
            .flat_map(|s| &s.splits)
            .map(|s| s.amount_fen)
            .sum()
    }

    /// What a refund may still take back: money split to receivers has left the merchant.
    pub fn refundable_fen(&self) -> i64 {
        self.total_fen - self.refunded_fen() - self.settled_fen()
    }

    /// What a settlement may still split: nothing once a settlement finished the trade's royalty.
    pub fn splittable_fen(&self) -> i64 {
        if self.royalty_finished {
            0
        } else {
            self.refundable_fen()
        }
    }

    /// Closes an unpaid trade whose time is up. Expiry is applied lazily, whenever the trade is
    /// looked at, which is indistinguishable from a timer for anyone asking. Returns whether it closed.
    pub fn expire(&mut self, now_ms: i64) -> bool {
        match (self.status, self.expires_ms) {
            (Status::WaitBuyerPay, Some(at)) if now_ms >= at => {
                self.status = Status::TradeClosed;
                self.closed_ms = Some(at);
                true
            }
            _ => false,
        }
    }
}

/// `app_id/out_trade_no` for an app's own trade, `app_id/user_id/out_trade_no` for a trade it made
/// for the merchant whose account is `merchant_id`.
pub fn trade_key(app_id: &str, merchant_id: Option<&str>, out_trade_no: &str) -> String {
    match merchant_id {
        None => format!("{app_id}/{out_trade_no}"),
        Some(m) => format!("{app_id}/{m}/{out_trade_no}"),
    }
}

/// Whose royalty receivers a call sees: the app's own (`app_id`), or those of a merchant the app
/// calls for (`app_id@user_id`).
pub fn owner(app_id: &str, merchant: Option<&Merchant>) -> String {
    match merchant {
        None => app_id.to_owned(),
        Some(m) => format!("{app_id}@{}", m.user_id),
    }
}

/// The buyer who pays in the sandbox when the trade names none.
pub const SANDBOX_BUYER_ID: &str = "2088102177846880";
pub const SANDBOX_BUYER_LOGON_ID: &str = "sandbox***@alipay.test";
/// The simulated merchant account every app belongs to.
pub const SELLER_ID: &str = "2088621955000001";

pub fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}
