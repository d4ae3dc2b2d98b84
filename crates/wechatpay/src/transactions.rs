//! Direct-merchant orders: Native, JSAPI, H5, App; query (by transaction_id or out_trade_no); close.

use serde::Serialize;
use time::OffsetDateTime;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::model::{
    H5Prepay, NativePrepay, OrderAmount, Payer, Prepay, SceneInfo, SettleInfo, TradeRef,
    Transaction,
};

/// An order's content: the same fields for every order kind, for a direct merchant
/// ([`NewOrder`]) and for a service provider's sub-merchant ([`crate::PartnerNewOrder`]). `M` says
/// whose order it is; the `mchid` (or `sp_mchid`) comes from the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewOrderFor<M> {
    #[serde(flatten)]
    pub merchant: M,
    pub description: String,
    pub out_trade_no: String,
    #[serde(
        with = "crate::timefmt::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub time_expire: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    pub notify_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goods_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support_fapiao: Option<bool>,
    pub amount: OrderAmount,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    /// Required (with `h5_info`) for H5 orders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scene_info: Option<SceneInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settle_info: Option<SettleInfo>,
}

/// A direct merchant's order.
pub type NewOrder = NewOrderFor<DirectMerchant>;

/// Whose order a [`NewOrder`] is: the direct merchant's, paid under `appid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectMerchant {
    pub appid: String,
}

impl<M> NewOrderFor<M> {
    /// The required fields; the optional ones start empty.
    pub(crate) fn with_merchant(
        merchant: M,
        description: &str,
        out_trade_no: &str,
        notify_url: &str,
        amount: OrderAmount,
    ) -> Self {
        Self {
            merchant,
            description: description.to_owned(),
            out_trade_no: out_trade_no.to_owned(),
            time_expire: None,
            attach: None,
            notify_url: notify_url.to_owned(),
            goods_tag: None,
            support_fapiao: None,
            amount,
            detail: None,
            scene_info: None,
            settle_info: None,
        }
    }
}

impl NewOrder {
    /// An order with the required fields; set the optional ones on the returned value.
    #[must_use]
    pub fn new(
        appid: &str,
        description: &str,
        out_trade_no: &str,
        notify_url: &str,
        amount: OrderAmount,
    ) -> Self {
        let merchant = DirectMerchant {
            appid: appid.to_owned(),
        };
        Self::with_merchant(merchant, description, out_trade_no, notify_url, amount)
    }
}

#[derive(Serialize)]
struct DirectOrder<'a> {
    mchid: &'a str,
    #[serde(flatten)]
    order: &'a NewOrder,
    #[serde(skip_serializing_if = "Option::is_none")]
    payer: Option<Payer>,
}

#[derive(Serialize)]
struct CloseBody<'a> {
    mchid: &'a str,
}

impl Client {
    /// `POST /v3/pay/transactions/native` → the `code_url` to show as a QR code.
    ///
    /// # Errors
    /// Any [`Error`]; `Upstream` with WeChat Pay's code when it refuses.
    pub async fn create_native_order(&self, order: &NewOrder) -> Result<NativePrepay> {
        self.direct_order("native", order, None).await
    }

    /// `POST /v3/pay/transactions/jsapi` (official accounts and mini-programs) for the payer's openid.
    ///
    /// # Errors
    /// Any [`Error`].
    pub async fn create_jsapi_order(&self, order: &NewOrder, payer_openid: &str) -> Result<Prepay> {
        let payer = Payer {
            openid: payer_openid.to_owned(),
        };
        self.direct_order("jsapi", order, Some(payer)).await
    }

    /// `POST /v3/pay/transactions/app`.
    ///
    /// # Errors
    /// Any [`Error`].
    pub async fn create_app_order(&self, order: &NewOrder) -> Result<Prepay> {
        self.direct_order("app", order, None).await
    }

    /// `POST /v3/pay/transactions/h5`; the order must carry `scene_info` with `h5_info`.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] without `scene_info.h5_info`; otherwise any [`Error`].
    pub async fn create_h5_order(&self, order: &NewOrder) -> Result<H5Prepay> {
        require_h5_scene(order.scene_info.as_ref())?;
        self.direct_order("h5", order, None).await
    }

    async fn direct_order<T: serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        order: &NewOrder,
        payer: Option<Payer>,
    ) -> Result<T> {
        let url = self.url(&["v3", "pay", "transactions", kind], &[])?;
        let body = DirectOrder {
            mchid: self.mchid(),
            order,
            payer,
        };
        self.post(url, &body).await
    }

    /// `GET /v3/pay/transactions/id/{transaction_id}?mchid=` or
    /// `GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=`, as `trade` names the order.
    ///
    /// # Errors
    /// Any [`Error`]; `Upstream` `ORDER_NOT_EXIST` (404) for an unknown order.
    pub async fn query_order(&self, trade: &TradeRef) -> Result<Transaction> {
        let [by, id] = trade.path_segments();
        let url = self.url(
            &["v3", "pay", "transactions", by, id],
            &[("mchid", self.mchid())],
        )?;
        self.get(url).await
    }

    /// `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close` (answered 204).
    ///
    /// # Errors
    /// Any [`Error`]; a paid order cannot be closed (`Upstream`).
    pub async fn close_order(&self, out_trade_no: &str) -> Result<()> {
        let url = self.url(
            &[
                "v3",
                "pay",
                "transactions",
                "out-trade-no",
                out_trade_no,
                "close",
            ],
            &[],
        )?;
        self.post_no_content(
            url,
            &CloseBody {
                mchid: self.mchid(),
            },
        )
        .await
    }
}

pub(crate) fn require_h5_scene(scene: Option<&SceneInfo>) -> Result<()> {
    match scene {
        Some(SceneInfo {
            h5_info: Some(_), ..
        }) => Ok(()),
        _ => Err(Error::InvalidRequest(
            "an H5 order needs scene_info with h5_info".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn serializes_the_documented_body() {
        let mut order = NewOrder::new(
            "wxd678efh567hg6787",
            "Image形象店-深圳腾大-QQ公仔",
            "1217752501201407033233368018",
            "https://www.weixin.qq.com/wxpay/pay.php",
            OrderAmount::cny(100),
        );
        order.time_expire = Some(datetime!(2018-06-08 10:34:56 +08:00));
        let body = serde_json::to_value(DirectOrder {
            mchid: "1230000109",
            order: &order,
            payer: None,
        })
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "mchid": "1230000109",
                "appid": "wxd678efh567hg6787",
                "description": "Image形象店-深圳腾大-QQ公仔",
                "out_trade_no": "1217752501201407033233368018",
                "time_expire": "2018-06-08T10:34:56+08:00",
                "notify_url": "https://www.weixin.qq.com/wxpay/pay.php",
                "amount": {"total": 100, "currency": "CNY"}
            })
        );
        assert!(matches!(
            require_h5_scene(None),
            Err(Error::InvalidRequest(_))
        ));
    }
}
