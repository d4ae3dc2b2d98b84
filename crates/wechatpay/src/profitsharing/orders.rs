//! Splits: `POST /v3/profitsharing/orders`, `GET /v3/profitsharing/orders/{out_order_no}`,
//! `POST /v3/profitsharing/orders/unfreeze`, and what is left to split,
//! `GET /v3/profitsharing/transactions/{transaction_id}/amounts`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::receivers::ReceiverType;
use super::sensitive;
use crate::client::Client;
use crate::error::Result;

/// One receiver's part of a split. `name` is plain text here; it is encrypted when sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitReceiver {
    pub receiver_type: ReceiverType,
    pub account: String,
    /// Fen.
    pub amount: i64,
    pub description: String,
    /// A person's real name, checked by WeChat Pay when given.
    pub name: Option<String>,
}

impl SplitReceiver {
    #[must_use]
    pub fn new(
        receiver_type: ReceiverType,
        account: &str,
        amount_fen: i64,
        description: &str,
    ) -> Self {
        Self {
            receiver_type,
            account: account.to_owned(),
            amount: amount_fen,
            description: description.to_owned(),
            name: None,
        }
    }
}

/// A split of a paid order. The same `out_order_no` again is the same split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSplit {
    /// A service provider splitting its sub-merchant's order names the sub-merchant here (and
    /// `appid` is the provider's); `None` for a direct merchant.
    pub sub_mchid: Option<String>,
    /// The sub-merchant's appid, for `PERSONAL_SUB_OPENID` receivers.
    pub sub_appid: Option<String>,
    pub appid: String,
    pub transaction_id: String,
    pub out_order_no: String,
    pub receivers: Vec<SplitReceiver>,
    /// Unfreeze what this split leaves to the merchant: the order can then be split no more.
    pub unfreeze_unsplit: bool,
}

#[derive(Serialize)]
struct SplitBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_mchid: Option<&'a str>,
    appid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_appid: Option<&'a str>,
    transaction_id: &'a str,
    out_order_no: &'a str,
    receivers: Vec<SplitReceiverBody<'a>>,
    unfreeze_unsplit: bool,
}

#[derive(Serialize)]
struct SplitReceiverBody<'a> {
    #[serde(rename = "type")]
    receiver_type: ReceiverType,
    account: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    amount: i64,
    description: &'a str,
}

/// Gives the rest of an order to the merchant, ending its splits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewUnfreeze {
    /// The sub-merchant, when a service provider unfreezes its order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<String>,
    pub transaction_id: String,
    pub out_order_no: String,
    pub description: String,
}

/// A split's `state`. Exhaustive: an undocumented state is a decode error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SplitState {
    Processing,
    Finished,
}

/// One receiver's `result` within a split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReceiverResult {
    Pending,
    Success,
    /// Not paid to the receiver: the amount stays with the order (see `fail_reason`).
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitReceiverResult {
    #[serde(rename = "type")]
    pub receiver_type: ReceiverType,
    pub account: String,
    /// Fen.
    pub amount: i64,
    pub description: String,
    pub result: ReceiverResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail_id: Option<String>,
    #[serde(with = "crate::timefmt")]
    pub create_time: OffsetDateTime,
    #[serde(
        default,
        with = "crate::timefmt::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub finish_time: Option<OffsetDateTime>,
}

/// A split as made, unfrozen or queried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// The sub-merchant, for a service provider's split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<String>,
    pub transaction_id: String,
    pub out_order_no: String,
    pub order_id: String,
    pub state: SplitState,
    #[serde(default)]
    pub receivers: Vec<SplitReceiverResult>,
}

/// The most a service provider may split away from a sub-merchant's payments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubMerchantRatio {
    pub sub_mchid: String,
    /// In ten-thousandths (万分比): 3000 is 30%.
    pub max_ratio: i64,
}

/// What of a payment is still frozen for splitting, fen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsplitAmount {
    pub transaction_id: String,
    pub unsplit_amount: i64,
}

impl Client {
    /// `POST /v3/profitsharing/orders`. The answer is usually `PROCESSING`; the result comes by
    /// [`Client::query_profit_sharing`].
    ///
    /// # Errors
    /// Any [`crate::Error`]; `Upstream` `INVALID_REQUEST` when the order cannot be split (paid
    /// without profit sharing, too little left, over the ratio limit, an unknown receiver).
    pub async fn share_profit(&self, split: &NewSplit) -> Result<Split> {
        let url = self.url(&["v3", "profitsharing", "orders"], &[])?;
        let needs_key = split.receivers.iter().any(|r| r.name.is_some());
        let key = if needs_key {
            Some(self.encryption_key().await?)
        } else {
            None
        };
        let mut receivers = Vec::with_capacity(split.receivers.len());
        for r in &split.receivers {
            let name = match (&r.name, &key) {
                (Some(name), Some((_, key))) => Some(sensitive::encrypt(key, name)?),
                _ => None,
            };
            receivers.push(SplitReceiverBody {
                receiver_type: r.receiver_type,
                account: &r.account,
                name,
                amount: r.amount,
                description: &r.description,
            });
        }
        let body = SplitBody {
            sub_mchid: split.sub_mchid.as_deref(),
            appid: &split.appid,
            sub_appid: split.sub_appid.as_deref(),
            transaction_id: &split.transaction_id,
            out_order_no: &split.out_order_no,
            receivers,
            unfreeze_unsplit: split.unfreeze_unsplit,
        };
        match &key {
            Some((serial, _)) => self.post_encrypted(url, &body, serial).await,
            None => self.post(url, &body).await,
        }
    }

    /// `GET /v3/profitsharing/orders/{out_order_no}?transaction_id=`.
    ///
    /// # Errors
    /// Any [`crate::Error`]; `Upstream` `RESOURCE_NOT_EXISTS` for an unknown split.
    pub async fn query_profit_sharing(
        &self,
        out_order_no: &str,
        transaction_id: &str,
    ) -> Result<Split> {
        let url = self.url(
            &["v3", "profitsharing", "orders", out_order_no],
            &[("transaction_id", transaction_id)],
        )?;
        self.get(url).await
    }

    /// `GET /v3/profitsharing/orders/{out_order_no}?sub_mchid=&transaction_id=`: a service
    /// provider's split for its sub-merchant.
    ///
    /// # Errors
    /// Any [`crate::Error`]; `Upstream` `RESOURCE_NOT_EXISTS` for an unknown split.
    pub async fn query_partner_profit_sharing(
        &self,
        sub_mchid: &str,
        out_order_no: &str,
        transaction_id: &str,
    ) -> Result<Split> {
        let url = self.url(
            &["v3", "profitsharing", "orders", out_order_no],
            &[("sub_mchid", sub_mchid), ("transaction_id", transaction_id)],
        )?;
        self.get(url).await
    }

    /// `GET /v3/profitsharing/merchant-configs/{sub_mchid}`: how much of a payment the service
    /// provider may split away from its sub-merchant.
    ///
    /// # Errors
    /// Any [`crate::Error`].
    pub async fn query_sub_merchant_max_ratio(&self, sub_mchid: &str) -> Result<SubMerchantRatio> {
        let url = self.url(&["v3", "profitsharing", "merchant-configs", sub_mchid], &[])?;
        self.get(url).await
    }

    /// `POST /v3/profitsharing/orders/unfreeze`: the rest goes to the merchant.
    ///
    /// # Errors
    /// Any [`crate::Error`].
    pub async fn unfreeze_profit_sharing(&self, unfreeze: &NewUnfreeze) -> Result<Split> {
        let url = self.url(&["v3", "profitsharing", "orders", "unfreeze"], &[])?;
        self.post(url, unfreeze).await
    }

    /// `GET /v3/profitsharing/transactions/{transaction_id}/amounts`.
    ///
    /// # Errors
    /// Any [`crate::Error`].
    pub async fn query_unsplit_amount(&self, transaction_id: &str) -> Result<UnsplitAmount> {
        let url = self.url(
            &[
                "v3",
                "profitsharing",
                "transactions",
                transaction_id,
                "amounts",
            ],
            &[],
        )?;
        self.get(url).await
    }
}
