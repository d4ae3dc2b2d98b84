//! Returns of a split: `POST /v3/profitsharing/return-orders` and
//! `GET /v3/profitsharing/return-orders/{out_return_no}?out_order_no=`. Only what a split paid to a
//! merchant receiver can be returned, and at most that.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::client::Client;
use crate::error::Result;

/// Money back from a merchant receiver of a split (named by its `out_order_no`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewSplitReturn {
    /// The sub-merchant, when a service provider returns from its split.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<String>,
    pub out_order_no: String,
    pub out_return_no: String,
    /// The merchant receiver that gives the money back.
    pub return_mchid: String,
    /// Fen.
    pub amount: i64,
    pub description: String,
}

/// A return's `result`. Exhaustive: an undocumented result is a decode error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReturnResult {
    Processing,
    Success,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitReturn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<String>,
    pub order_id: String,
    pub out_order_no: String,
    pub out_return_no: String,
    pub return_id: String,
    pub return_mchid: String,
    /// Fen.
    pub amount: i64,
    pub description: String,
    pub result: ReturnResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<String>,
    #[serde(with = "crate::timefmt")]
    pub create_time: OffsetDateTime,
    #[serde(
        default,
        with = "crate::timefmt::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub finish_time: Option<OffsetDateTime>,
}

impl Client {
    /// `POST /v3/profitsharing/return-orders`. The same `out_return_no` again is the same return.
    ///
    /// # Errors
    /// Any [`crate::Error`]; `Upstream` `INVALID_REQUEST` for more than the receiver was paid.
    pub async fn return_profit_sharing(&self, request: &NewSplitReturn) -> Result<SplitReturn> {
        let url = self.url(&["v3", "profitsharing", "return-orders"], &[])?;
        self.post(url, request).await
    }

    /// `GET /v3/profitsharing/return-orders/{out_return_no}?out_order_no=`.
    ///
    /// # Errors
    /// Any [`crate::Error`]; `Upstream` `RESOURCE_NOT_EXISTS` for an unknown return.
    pub async fn query_profit_sharing_return(
        &self,
        out_return_no: &str,
        out_order_no: &str,
    ) -> Result<SplitReturn> {
        let url = self.url(
            &["v3", "profitsharing", "return-orders", out_return_no],
            &[("out_order_no", out_order_no)],
        )?;
        self.get(url).await
    }

    /// `GET /v3/profitsharing/return-orders/{out_return_no}?sub_mchid=&out_order_no=`: a service
    /// provider's return for its sub-merchant.
    ///
    /// # Errors
    /// Any [`crate::Error`]; `Upstream` `RESOURCE_NOT_EXISTS` for an unknown return.
    pub async fn query_partner_profit_sharing_return(
        &self,
        sub_mchid: &str,
        out_return_no: &str,
        out_order_no: &str,
    ) -> Result<SplitReturn> {
        let url = self.url(
            &["v3", "profitsharing", "return-orders", out_return_no],
            &[("sub_mchid", sub_mchid), ("out_order_no", out_order_no)],
        )?;
        self.get(url).await
    }
}
