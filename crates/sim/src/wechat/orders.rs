//! Creating orders (Native, JSAPI, H5, App), for direct merchants and, under
//! `/v3/pay/partner/...`, service providers with sub-merchants. Query and close are in
//! [`super::transactions`].

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Json, body::Bytes};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Sim;
use super::auth::Caller;
use super::crypto::now_unix;
use super::error::{ApiError, ApiResult, internal};
use super::h5::link;
use super::profitsharing::model::Ledger;
use super::scope::{Scope, check_appid, check_mchid, check_sub_merchant, expire_if_due};
use super::state::{Answer, Order, RequestDigest, TradeState, TradeType, WechatState, order_key};
use super::validate;

#[derive(Debug, Default, Deserialize)]
pub struct OrderBody {
    pub appid: Option<String>,
    pub mchid: Option<String>,
    pub sp_appid: Option<String>,
    pub sp_mchid: Option<String>,
    pub sub_appid: Option<String>,
    pub sub_mchid: Option<String>,
    pub description: Option<String>,
    pub out_trade_no: Option<String>,
    pub time_expire: Option<String>,
    pub attach: Option<String>,
    pub notify_url: Option<String>,
    pub amount: Option<AmountIn>,
    pub payer: Option<PayerIn>,
    pub scene_info: Option<Value>,
    pub settle_info: Option<SettleIn>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SettleIn {
    pub profit_sharing: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AmountIn {
    pub total: Option<i64>,
    pub currency: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PayerIn {
    pub openid: Option<String>,
    pub sp_openid: Option<String>,
    pub sub_openid: Option<String>,
}

/// `POST …/transactions/{kind}`, under `/v3/pay` (`PARTNER` false) or `/v3/pay/partner`
/// (`PARTNER` true).
pub async fn create<const PARTNER: bool>(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(kind): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    create_in_scope(&sim, &caller, &kind, &body, PARTNER)
        .await
        .map(Json)
}

async fn create_in_scope(
    sim: &Sim,
    caller: &Caller,
    kind: &str,
    raw: &[u8],
    partner: bool,
) -> ApiResult<Value> {
    let trade_type = TradeType::from_path(kind)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "请求的资源不存在"))?;
    let request: Value = validate::json(raw)?;
    let body: OrderBody = validate::json(raw)?;
    let (scope, appid, sub_appid) = if partner {
        let sp_appid = validate::required(body.sp_appid.as_ref(), "sp_appid")?;
        let sp_mchid = validate::required(body.sp_mchid.as_ref(), "sp_mchid")?;
        let sub_mchid = validate::required(body.sub_mchid.as_ref(), "sub_mchid")?;
        check_mchid(sim, caller, sp_mchid)?;
        check_appid(sim, sp_mchid, sp_appid)?;
        let sub_appid = body.sub_appid.as_deref().filter(|a| !a.is_empty());
        check_sub_merchant(sim, sp_mchid, sub_mchid, sub_appid)?;
        let scope = Scope {
            mchid: sp_mchid.to_owned(),
            sub_mchid: Some(sub_mchid.to_owned()),
        };
        (scope, sp_appid.to_owned(), sub_appid.map(str::to_owned))
    } else {
        let appid = validate::required(body.appid.as_ref(), "appid")?;
        let mchid = validate::required(body.mchid.as_ref(), "mchid")?;
        check_mchid(sim, caller, mchid)?;
        check_appid(sim, mchid, appid)?;
        (
            Scope {
                mchid: mchid.to_owned(),
                sub_mchid: None,
            },
            appid.to_owned(),
            None,
        )
    };
    let description = validate::required(body.description.as_ref(), "description")?;
    validate::max_chars(description, 127, "description")?;
    let out_trade_no = validate::required(body.out_trade_no.as_ref(), "out_trade_no")?;
    validate::out_trade_no(out_trade_no, "out_trade_no")?;
    let notify_url = validate::required(body.notify_url.as_ref(), "notify_url")?;
    validate::notify_url(notify_url, "notify_url")?;
    if let Some(a) = &body.attach {
        validate::max_chars(a, 128, "attach")?;
    }
    let amount = body
        .amount
        .as_ref()
        .ok_or_else(|| ApiError::param("字段“amount”为必填项"))?;
    let total = validate::positive_amount(amount.total, "amount.total")?;
    let currency = validate::currency(amount.currency.as_ref(), "amount.currency")?;
    let time_expire = validate::time_expire(body.time_expire.as_ref())?;
    let (openid, sub_openid) = payer(&body, trade_type, partner)?;
    if trade_type == TradeType::H5 {
        let scene = body.scene_info.as_ref();
        if scene
            .and_then(|s| s.get("payer_client_ip"))
            .and_then(Value::as_str)
            .is_none()
        {
            return Err(ApiError::param("字段“scene_info.payer_client_ip”为必填项"));
        }
        if scene
            .and_then(|s| s.pointer("/h5_info/type"))
            .and_then(Value::as_str)
            .is_none()
        {
            return Err(ApiError::param("字段“scene_info.h5_info.type”为必填项"));
        }
    }
    let key = order_key(&scope.mchid, scope.sub_mchid.as_deref(), out_trade_no);
    let now = now_unix();
    let prepay_id = new_prepay_id();
    let mut order = Order {
        mchid: scope.mchid.clone(),
        sub_mchid: scope.sub_mchid.clone(),
        appid,
        sub_appid,
        out_trade_no: out_trade_no.to_owned(),
        transaction_id: None,
        trade_type,
        state: TradeState::NotPay,
        description: description.to_owned(),
        attach: body.attach.clone(),
        notify_url: notify_url.to_owned(),
        total,
        currency,
        time_expire,
        openid,
        sub_openid,
        prepay: Answer::of(&prepay(trade_type, &prepay_id)),
        prepay_id: (trade_type != TradeType::Native).then_some(prepay_id),
        h5_link: None,
        request: RequestDigest::of(&request),
        success_time: None,
        refunded: 0,
        combine: None,
        created: now,
        bill_total: None,
        fund_flow_fee: None,
        fee_returned: 0,
    };
    let base_url = sim.ctx.base_url();
    if trade_type == TradeType::H5 {
        link::reissue(&mut order, base_url, now);
    }
    let profit_sharing = body
        .settle_info
        .as_ref()
        .and_then(|s| s.profit_sharing)
        .unwrap_or(false);
    sim.store
        .update(|s| {
            let fresh = !s.orders.contains_key(&key);
            let answer = insert_order(s, key.clone(), order, base_url, now)?;
            if fresh && profit_sharing {
                s.sharing_ledgers.insert(key, Ledger::default());
            }
            Ok(answer)
        })
        .await
        .map_err(internal)?
}

/// Stores a new order, or answers a repeat: the same content gets the same answer (as long as the
/// order is still payable; for H5, the same prepay_id in a fresh link), different content is
/// `OUT_TRADE_NO_USED`.
fn insert_order(
    s: &mut WechatState,
    key: String,
    order: Order,
    base_url: &str,
    now: i64,
) -> ApiResult<Value> {
    if let Some(existing) = s.orders.get_mut(&key) {
        expire_if_due(existing, now);
        if existing.request != order.request || existing.combine.is_some() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "OUT_TRADE_NO_USED",
                "商户订单号重复",
            ));
        }
        return match existing.state {
            TradeState::NotPay | TradeState::PayError => {
                if existing.trade_type == TradeType::H5 {
                    link::reissue(existing, base_url, now);
                }
                Ok(existing.prepay.to_value())
            }
            TradeState::Success | TradeState::Refund => Err(order_paid()),
            TradeState::Closed => Err(order_closed()),
        };
    }
    let answer = order.prepay.to_value();
    s.orders.insert(key, order);
    Ok(answer)
}

pub fn order_paid() -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "ORDERPAID", "该订单已支付")
}

pub fn order_closed() -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "ORDER_CLOSED", "该订单已关闭")
}

fn payer(
    body: &OrderBody,
    trade_type: TradeType,
    partner: bool,
) -> ApiResult<(Option<String>, bool)> {
    let p = body.payer.as_ref();
    let sub = p
        .and_then(|p| p.sub_openid.clone())
        .filter(|s| !s.is_empty());
    let direct = if partner {
        p.and_then(|p| p.sp_openid.clone())
    } else {
        p.and_then(|p| p.openid.clone())
    };
    let direct = direct.filter(|s| !s.is_empty());
    if partner && sub.is_some() && body.sub_appid.as_deref().is_none_or(str::is_empty) {
        return Err(ApiError::param("传入sub_openid时，sub_appid为必填项"));
    }
    if trade_type == TradeType::Jsapi && direct.is_none() && sub.is_none() {
        let field = if partner {
            "payer.sp_openid或payer.sub_openid"
        } else {
            "payer.openid"
        };
        return Err(ApiError::param(format!("字段“{field}”为必填项")));
    }
    Ok(match (direct, sub) {
        (_, Some(s)) => (Some(s), true),
        (d, None) => (d, false),
    })
}

/// A prepay_id as WeChat's: `wx`, the China time to the second, 20 hex digits.
pub fn new_prepay_id() -> String {
    let stamp = super::crypto::china_time(time::OffsetDateTime::now_utc());
    let digits: String = stamp
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect();
    let mut tail = [0u8; 10];
    channel_core::nonce::fill(&mut tail);
    format!("wx{digits}{}", hex::encode(tail))
}

/// What the create call answers for each trade type. A single H5 order's answer is then replaced
/// by its pay link on the simulator ([`link::reissue`]); a combined H5 order keeps this one,
/// WeChat's own host, which the simulator does not serve (the control API pays combined orders).
pub fn prepay(trade_type: TradeType, prepay_id: &str) -> Value {
    match trade_type {
        TradeType::Native => {
            json!({ "code_url": format!("weixin://wxpay/bizpayurl?pr={}", channel_core::nonce::alphanumeric(7)) })
        }
        TradeType::H5 => json!({
            "h5_url": format!("https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id={prepay_id}&package={}",
                link::new_package())
        }),
        TradeType::Jsapi | TradeType::App => json!({ "prepay_id": prepay_id }),
    }
}
