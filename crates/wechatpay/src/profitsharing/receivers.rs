//! Receivers: `POST /v3/profitsharing/receivers/add` and `/receivers/delete`. A split may only go
//! to a receiver added before it.

use serde::{Deserialize, Serialize};

use super::sensitive;
use crate::client::Client;
use crate::error::Result;

/// Who receives a split. Exhaustive: an undocumented type is a decode error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReceiverType {
    /// `account` is a merchant id.
    MerchantId,
    /// `account` is an openid under the merchant's appid.
    PersonalOpenid,
    /// `account` is a sub-merchant appid's openid (service providers only).
    PersonalSubOpenid,
}

/// The merchant's relation to the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RelationType {
    ServiceProvider,
    Store,
    Staff,
    StoreOwner,
    Partner,
    Headquarter,
    Brand,
    Distributor,
    User,
    Supplier,
    /// Described by `custom_relation`.
    Custom,
}

/// A receiver to add. `name` is plain text here; it is encrypted for WeChat Pay when sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReceiver {
    /// A service provider adding a receiver for its sub-merchant names it here (and `appid` is
    /// the provider's); `None` for a direct merchant.
    pub sub_mchid: Option<String>,
    /// The sub-merchant's appid, for a `PERSONAL_SUB_OPENID` receiver.
    pub sub_appid: Option<String>,
    pub appid: String,
    pub receiver_type: ReceiverType,
    pub account: String,
    /// The merchant's full name for `MERCHANT_ID` (required by WeChat Pay); a person's real name,
    /// checked when given, for the personal types.
    pub name: Option<String>,
    pub relation_type: RelationType,
    /// Required when `relation_type` is `Custom`.
    pub custom_relation: Option<String>,
}

impl NewReceiver {
    #[must_use]
    pub fn new(
        appid: &str,
        receiver_type: ReceiverType,
        account: &str,
        relation_type: RelationType,
    ) -> Self {
        Self {
            sub_mchid: None,
            sub_appid: None,
            appid: appid.to_owned(),
            receiver_type,
            account: account.to_owned(),
            name: None,
            relation_type,
            custom_relation: None,
        }
    }
}

#[derive(Serialize)]
struct AddBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_mchid: Option<&'a str>,
    appid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_appid: Option<&'a str>,
    #[serde(rename = "type")]
    receiver_type: ReceiverType,
    account: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    relation_type: RelationType,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_relation: Option<&'a str>,
}

/// A receiver as WeChat Pay confirms it; `name`, if any, is still encrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receiver {
    #[serde(rename = "type")]
    pub receiver_type: ReceiverType,
    pub account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub relation_type: RelationType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_relation: Option<String>,
}

/// The receiver a delete call removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedReceiver {
    #[serde(rename = "type")]
    pub receiver_type: ReceiverType,
    pub account: String,
}

#[derive(Serialize)]
struct DeleteBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_mchid: Option<&'a str>,
    appid: &'a str,
    #[serde(rename = "type")]
    receiver_type: ReceiverType,
    account: &'a str,
}

impl Client {
    /// `POST /v3/profitsharing/receivers/add`. Adding the same receiver again is harmless.
    ///
    /// # Errors
    /// Any [`crate::Error`]; `Upstream` `PARAM_ERROR` for a missing merchant name or a mismatched
    /// real name.
    pub async fn add_profit_sharing_receiver(&self, receiver: &NewReceiver) -> Result<Receiver> {
        let url = self.url(&["v3", "profitsharing", "receivers", "add"], &[])?;
        let mut body = AddBody {
            sub_mchid: receiver.sub_mchid.as_deref(),
            appid: &receiver.appid,
            sub_appid: receiver.sub_appid.as_deref(),
            receiver_type: receiver.receiver_type,
            account: &receiver.account,
            name: None,
            relation_type: receiver.relation_type,
            custom_relation: receiver.custom_relation.as_deref(),
        };
        match &receiver.name {
            Some(name) => {
                let (serial, key) = self.encryption_key().await?;
                body.name = Some(sensitive::encrypt(&key, name)?);
                self.post_encrypted(url, &body, &serial).await
            }
            None => self.post(url, &body).await,
        }
    }

    /// `POST /v3/profitsharing/receivers/delete`. A split to the receiver not yet finished may then
    /// close for it (`CLOSED`, `NO_RELATION`), its amount left unsplit.
    ///
    /// # Errors
    /// Any [`crate::Error`].
    pub async fn delete_profit_sharing_receiver(
        &self,
        appid: &str,
        receiver_type: ReceiverType,
        account: &str,
    ) -> Result<RemovedReceiver> {
        self.delete_receiver(None, appid, receiver_type, account)
            .await
    }

    /// `POST /v3/profitsharing/receivers/delete` by a service provider, for its sub-merchant.
    ///
    /// # Errors
    /// Any [`crate::Error`].
    pub async fn delete_partner_profit_sharing_receiver(
        &self,
        sub_mchid: &str,
        appid: &str,
        receiver_type: ReceiverType,
        account: &str,
    ) -> Result<RemovedReceiver> {
        self.delete_receiver(Some(sub_mchid), appid, receiver_type, account)
            .await
    }

    async fn delete_receiver(
        &self,
        sub_mchid: Option<&str>,
        appid: &str,
        receiver_type: ReceiverType,
        account: &str,
    ) -> Result<RemovedReceiver> {
        let url = self.url(&["v3", "profitsharing", "receivers", "delete"], &[])?;
        let body = DeleteBody {
            sub_mchid,
            appid,
            receiver_type,
            account,
        };
        self.post(url, &body).await
    }
}
