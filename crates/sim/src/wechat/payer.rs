//! What the payer does to an order: pay it (TRANSACTION.SUCCESS follows) or fail it (PAYERROR).
//!
//! One door for every way the sandbox payer acts: the control API (by out_trade_no or, for JSAPI,
//! by prepay_id) and the H5 pay page, so each of them settles and notifies exactly alike.

use axum::http::StatusCode;
use serde_json::Value;

use super::Sim;
use super::crypto::{new_id, now_unix};
use super::error::{ApiError, ApiResult, internal};
use super::notify::{self, Event};
use super::scope::expire_if_due;
use super::state::TradeState;
use super::transactions::{mark_paid, transaction_json};

/// What the payer did.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Paid, as `openid` if the order does not name its payer already (a random one if `None`).
    Pay { openid: Option<String> },
    /// The payment failed (PAYERROR); the order stays payable.
    Fail,
    /// Paid, but WeChat Pay never sends TRANSACTION.SUCCESS, and the payment may land on an order
    /// the merchant already closed: the close lost the race with the payer. The order is SUCCESS
    /// from then on, to a query and in the bill.
    PaySilently { openid: Option<String> },
}

/// Settles the order stored under `key` and answers the transaction as the query would.
///
/// # Errors
/// `ORDER_NOT_EXIST` (404), or `ORDER_NOT_PAYABLE` (409) when it is paid, or closed or expired
/// (those two may still be paid silently).
pub async fn settle(sim: &Sim, key: &str, outcome: &Outcome) -> ApiResult<Value> {
    let now = now_unix();
    let order = sim
        .store
        .update(|s| {
            *s.seq += 1;
            let seq = *s.seq;
            let order = s
                .orders
                .get_mut(key)
                .ok_or_else(ApiError::order_not_exist)?;
            expire_if_due(order, now);
            let payable = match (outcome, order.state) {
                (_, TradeState::NotPay | TradeState::PayError) => true,
                (Outcome::PaySilently { .. }, TradeState::Closed) => true,
                (_, TradeState::Success | TradeState::Refund | TradeState::Closed) => false,
            };
            if !payable {
                let msg = format!("order is {}, not payable", order.state.code());
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "ORDER_NOT_PAYABLE",
                    msg,
                ));
            }
            match outcome {
                Outcome::Pay { openid } | Outcome::PaySilently { openid } => {
                    let openid = openid.clone().unwrap_or_else(|| {
                        format!("oSim{}", channel_core::nonce::alphanumeric(24))
                    });
                    mark_paid(order, transaction_id(seq), openid, now);
                }
                Outcome::Fail => order.state = TradeState::PayError,
            }
            Ok(order.clone())
        })
        .await
        .map_err(internal)??;
    let resource = transaction_json(&order);
    if matches!(outcome, Outcome::Pay { .. }) {
        notify::send(
            sim,
            &Event {
                mchid: &order.mchid,
                url: &order.notify_url,
                event_type: "TRANSACTION.SUCCESS",
                summary: "支付成功",
                original_type: "transaction",
                resource: &resource,
                reference: &order.out_trade_no,
            },
        );
    }
    Ok(resource)
}

/// A WeChat-like 28-digit transaction id: `42000` + 5 digits + China date + 10 digits.
pub fn transaction_id(seq: u64) -> String {
    let mut b = [0u8; 4];
    channel_core::nonce::fill(&mut b);
    new_id(&format!("42000{:05}", u32::from_be_bytes(b) % 100_000), seq)
}
