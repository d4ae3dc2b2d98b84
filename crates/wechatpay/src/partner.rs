//! Service-provider (partner) orders for sub-merchants, under `/v3/pay/partner/transactions/…`.

use serde::Serialize;

use crate::client::Client;
use crate::error::Result;
use crate::model::{H5Prepay, NativePrepay, OrderAmount, PartnerTransaction, Prepay, TradeRef};
use crate::transactions::{NewOrderFor, require_h5_scene};

/// A sub-merchant's order, placed by the service provider (whose `sp_mchid` comes from the client).
pub type PartnerNewOrder = NewOrderFor<PartnerMerchant>;

/// Whose order a [`PartnerNewOrder`] is: the sub-merchant's, paid under the service provider's
/// `sp_appid` or the sub-merchant's own `sub_appid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartnerMerchant {
    pub sp_appid: String,
    pub sub_mchid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_appid: Option<String>,
}

impl PartnerNewOrder {
    /// An order with the required fields; set the optional ones (`merchant.sub_appid` among them)
    /// on the returned value.
    #[must_use]
    pub fn new(
        sp_appid: &str,
        sub_mchid: &str,
        description: &str,
        out_trade_no: &str,
        notify_url: &str,
        amount: OrderAmount,
    ) -> Self {
        let merchant = PartnerMerchant {
            sp_appid: sp_appid.to_owned(),
            sub_mchid: sub_mchid.to_owned(),
            sub_appid: None,
        };
        Self::with_merchant(merchant, description, out_trade_no, notify_url, amount)
    }
}

/// A JSAPI payer is identified under exactly one of the two appids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerPayerId {
    /// The payer's openid under `sp_appid`.
    SpOpenid(String),
    /// The payer's openid under `sub_appid`.
    SubOpenid(String),
}

#[derive(Serialize)]
struct PartnerOrderBody<'a> {
    sp_mchid: &'a str,
    #[serde(flatten)]
    order: &'a PartnerNewOrder,
    #[serde(skip_serializing_if = "Option::is_none")]
    payer: Option<&'a PartnerPayerId>,
}

#[derive(Serialize)]
struct PartnerCloseBody<'a> {
    sp_mchid: &'a str,
    sub_mchid: &'a str,
}

impl Client {
    /// `POST /v3/pay/partner/transactions/native`.
    ///
    /// # Errors
    /// Any [`crate::Error`].
    pub async fn create_partner_native_order(
        &self,
        order: &PartnerNewOrder,
    ) -> Result<NativePrepay> {
        self.partner_order("native", order, None).await
    }

    /// `POST /v3/pay/partner/transactions/jsapi`.
    ///
    /// # Errors
    /// Any [`crate::Error`].
    pub async fn create_partner_jsapi_order(
        &self,
        order: &PartnerNewOrder,
        payer: &PartnerPayerId,
    ) -> Result<Prepay> {
        self.partner_order("jsapi", order, Some(payer)).await
    }

    /// `POST /v3/pay/partner/transactions/app`.
    ///
    /// # Errors
    /// Any [`crate::Error`].
    pub async fn create_partner_app_order(&self, order: &PartnerNewOrder) -> Result<Prepay> {
        self.partner_order("app", order, None).await
    }

    /// `POST /v3/pay/partner/transactions/h5`; needs `scene_info.h5_info`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidRequest`] without `h5_info`; otherwise any [`crate::Error`].
    pub async fn create_partner_h5_order(&self, order: &PartnerNewOrder) -> Result<H5Prepay> {
        require_h5_scene(order.scene_info.as_ref())?;
        self.partner_order("h5", order, None).await
    }

    async fn partner_order<T: serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        order: &PartnerNewOrder,
        payer: Option<&PartnerPayerId>,
    ) -> Result<T> {
        let url = self.url(&["v3", "pay", "partner", "transactions", kind], &[])?;
        self.post(
            url,
            &PartnerOrderBody {
                sp_mchid: self.mchid(),
                order,
                payer,
            },
        )
        .await
    }

    /// `GET /v3/pay/partner/transactions/id/{transaction_id}?sp_mchid=&sub_mchid=` or
    /// `GET /v3/pay/partner/transactions/out-trade-no/{out_trade_no}?sp_mchid=&sub_mchid=`.
    ///
    /// # Errors
    /// Any [`crate::Error`]; `Upstream` `ORDER_NOT_EXIST` (404) for an unknown order.
    pub async fn query_partner_order(
        &self,
        trade: &TradeRef,
        sub_mchid: &str,
    ) -> Result<PartnerTransaction> {
        let [by, id] = trade.path_segments();
        let url = self.url(
            &["v3", "pay", "partner", "transactions", by, id],
            &[("sp_mchid", self.mchid()), ("sub_mchid", sub_mchid)],
        )?;
        self.get(url).await
    }

    /// `POST /v3/pay/partner/transactions/out-trade-no/{out_trade_no}/close` with `{sp_mchid, sub_mchid}`.
    ///
    /// # Errors
    /// Any [`crate::Error`].
    pub async fn close_partner_order(&self, out_trade_no: &str, sub_mchid: &str) -> Result<()> {
        let url = self.url(
            &[
                "v3",
                "pay",
                "partner",
                "transactions",
                "out-trade-no",
                out_trade_no,
                "close",
            ],
            &[],
        )?;
        self.post_no_content(
            url,
            &PartnerCloseBody {
                sp_mchid: self.mchid(),
                sub_mchid,
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payer_is_one_of_the_two_openids() {
        let order = PartnerNewOrder::new(
            "wx8888",
            "1900000109",
            "d",
            "out_1234",
            "https://x.example/n",
            OrderAmount::cny(1),
        );
        let payer = PartnerPayerId::SubOpenid("o-sub".into());
        let body = serde_json::to_value(PartnerOrderBody {
            sp_mchid: "1230000109",
            order: &order,
            payer: Some(&payer),
        })
        .unwrap();
        assert_eq!(body["payer"], serde_json::json!({"sub_openid": "o-sub"}));
        assert_eq!(body["sp_mchid"], "1230000109");
        assert_eq!(body["sub_mchid"], "1900000109");
        // The merchant fields sit beside the order's, as WeChat Pay documents the body.
        assert_eq!(body["sp_appid"], "wx8888");
        assert_eq!(body["out_trade_no"], "out_1234");
        assert!(body.get("sub_appid").is_none());
    }
}
