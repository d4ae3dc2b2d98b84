//! Combined orders (合单): one payment for several sub-orders, under `/v3/combine-transactions/…`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::client::Client;
use crate::error::Result;
use crate::model::{
    H5Prepay, NativePrepay, Payer, Prepay, SceneInfo, SettleInfo, TradeState, TradeType,
};
use crate::transactions::require_h5_scene;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CombineAmount {
    /// Fen.
    pub total_amount: i64,
    pub currency: String,
}

impl CombineAmount {
    #[must_use]
    pub fn cny(total_fen: i64) -> Self {
        Self {
            total_amount: total_fen,
            currency: "CNY".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CombineSubOrder {
    pub mchid: String,
    pub attach: String,
    pub amount: CombineAmount,
    pub out_trade_no: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_appid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goods_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settle_info: Option<SettleInfo>,
}

/// A combined order. `combine_mchid` comes from the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CombineNewOrder {
    pub combine_appid: String,
    pub combine_out_trade_no: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scene_info: Option<SceneInfo>,
    pub sub_orders: Vec<CombineSubOrder>,
    #[serde(
        with = "crate::timefmt::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub time_start: Option<OffsetDateTime>,
    #[serde(
        with = "crate::timefmt::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub time_expire: Option<OffsetDateTime>,
    pub notify_url: String,
}

#[derive(Serialize)]
struct CombineOrderBody<'a> {
    combine_mchid: &'a str,
    #[serde(flatten)]
    order: &'a CombineNewOrder,
    #[serde(skip_serializing_if = "Option::is_none")]
    combine_payer_info: Option<Payer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CombineSubAmount {
    pub total_amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_currency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CombineSubTransaction {
    pub mchid: String,
    pub out_trade_no: String,
    pub trade_state: TradeState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_type: Option<TradeType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    #[serde(
        default,
        with = "crate::timefmt::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub success_time: Option<OffsetDateTime>,
    pub amount: CombineSubAmount,
}

/// A combined order as queried or called back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CombineTransaction {
    pub combine_appid: String,
    pub combine_mchid: String,
    pub combine_out_trade_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scene_info: Option<serde_json::Value>,
    pub sub_orders: Vec<CombineSubTransaction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combine_payer_info: Option<Payer>,
}

/// A sub-order to close with its combined order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CombineCloseSubOrder {
    pub mchid: String,
    pub out_trade_no: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_appid: Option<String>,
}

#[derive(Serialize)]
struct CombineCloseBody<'a> {
    combine_appid: &'a str,
    sub_orders: &'a [CombineCloseSubOrder],
}

impl Client {
    /// `POST /v3/combine-transactions/native`.
    ///
    /// # Errors
    /// Any [`crate::Error`].
    pub async fn create_combine_native_order(
        &self,
        order: &CombineNewOrder,
    ) -> Result<NativePrepay> {
        self.combine_order("native", order, None).await
    }

    /// `POST /v3/combine-transactions/jsapi` for the payer's openid under `combine_appid`.
    ///
    /// # Errors
    /// Any [`crate::Error`].
    pub async fn create_combine_jsapi_order(
        &self,
        order: &CombineNewOrder,
        payer_openid: &str,
    ) -> Result<Prepay> {
        let payer = Payer {
            openid: payer_openid.to_owned(),
        };
        self.combine_order("jsapi", order, Some(payer)).await
    }

    /// `POST /v3/combine-transactions/app`.
    ///
    /// # Errors
    /// Any [`crate::Error`].
    pub async fn create_combine_app_order(&self, order: &CombineNewOrder) -> Result<Prepay> {
        self.combine_order("app", order, None).await
    }

    /// `POST /v3/combine-transactions/h5`; needs `scene_info.h5_info`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidRequest`] without `h5_info`; otherwise any [`crate::Error`].
    pub async fn create_combine_h5_order(&self, order: &CombineNewOrder) -> Result<H5Prepay> {
        require_h5_scene(order.scene_info.as_ref())?;
        self.combine_order("h5", order, None).await
    }

    async fn combine_order<T: serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        order: &CombineNewOrder,
        combine_payer_info: Option<Payer>,
    ) -> Result<T> {
        let url = self.url(&["v3", "combine-transactions", kind], &[])?;
        self.post(
            url,
            &CombineOrderBody {
                combine_mchid: self.mchid(),
                order,
                combine_payer_info,
            },
        )
        .await
    }

    /// `GET /v3/combine-transactions/out-trade-no/{combine_out_trade_no}`.
    ///
    /// # Errors
    /// Any [`crate::Error`].
    pub async fn query_combine_order(
        &self,
        combine_out_trade_no: &str,
    ) -> Result<CombineTransaction> {
        let url = self.url(
            &[
                "v3",
                "combine-transactions",
                "out-trade-no",
                combine_out_trade_no,
            ],
            &[],
        )?;
        self.get(url).await
    }

    /// `POST /v3/combine-transactions/out-trade-no/{combine_out_trade_no}/close` (answered 204).
    ///
    /// # Errors
    /// Any [`crate::Error`].
    pub async fn close_combine_order(
        &self,
        combine_out_trade_no: &str,
        combine_appid: &str,
        sub_orders: &[CombineCloseSubOrder],
    ) -> Result<()> {
        let url = self.url(
            &[
                "v3",
                "combine-transactions",
                "out-trade-no",
                combine_out_trade_no,
                "close",
            ],
            &[],
        )?;
        self.post_no_content(
            url,
            &CombineCloseBody {
                combine_appid,
                sub_orders,
            },
        )
        .await
    }
}
