//! Royalty relations: the receivers an app may split to must be bound first.

use serde::{Deserialize, Serialize};

use super::AccountType;
use crate::client::Extra;
use crate::{Client, Error};

/// One receiver (Alipay's `RoyaltyEntity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receiver {
    #[serde(rename = "type")]
    pub account_type: AccountType,
    pub account: String,
    /// The receiver's full name; required to bind, not needed to unbind, never returned by a
    /// query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
}

/// `alipay.trade.royalty.relation.bind` and `.unbind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelationRequest {
    /// The merchant's number for this request (32 characters at most).
    pub out_request_no: String,
    /// At most 20 per call.
    #[serde(rename = "receiver_list")]
    pub receivers: Vec<Receiver>,
}

/// `result_code` of a bind or unbind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RelationResultCode {
    Success,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RelationResult {
    pub result_code: RelationResultCode,
}

/// `alipay.trade.royalty.relation.batchquery`: one page of the bound receivers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelationQuery {
    pub out_request_no: String,
    /// From 1.
    pub page_num: u32,
    /// 1 to 100.
    pub page_size: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RelationPage {
    pub result_code: RelationResultCode,
    #[serde(rename = "receiver_list", default)]
    pub receivers: Vec<Receiver>,
    #[serde(default)]
    pub total_page_num: u32,
    #[serde(default)]
    pub total_record_num: u32,
    #[serde(default)]
    pub current_page_num: u32,
    #[serde(default)]
    pub current_page_size: u32,
}

impl Client {
    /// `alipay.trade.royalty.relation.bind`. Binding a bound receiver again is not an error.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn bind_royalty_receivers(
        &self,
        req: &RelationRequest,
    ) -> Result<RelationResult, Error> {
        self.call("alipay.trade.royalty.relation.bind", req, Extra::default())
            .await
    }

    /// `alipay.trade.royalty.relation.unbind`. Splits already made stay made.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn unbind_royalty_receivers(
        &self,
        req: &RelationRequest,
    ) -> Result<RelationResult, Error> {
        self.call(
            "alipay.trade.royalty.relation.unbind",
            req,
            Extra::default(),
        )
        .await
    }

    /// `alipay.trade.royalty.relation.batchquery`.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn query_royalty_receivers(
        &self,
        req: &RelationQuery,
    ) -> Result<RelationPage, Error> {
        self.call(
            "alipay.trade.royalty.relation.batchquery",
            req,
            Extra::default(),
        )
        .await
    }
}
