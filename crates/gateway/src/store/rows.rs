//! Rows as the database returns them, and their conversion back into domain types. Every stored
//! value is parsed again on the way out, so a bad row is an error here rather than a wrong answer.

use crate::domain::{
    AlipaySellerId, Amount, Attach, BuyerId, Channel, CheckoutToken, Currency, Description,
    Fingerprint, Method, NotifyUrl, Openid, Order, OrderEvent, OrderId, OrderStatus, Origin,
    OutTradeNo, PayAttempt, PayAttemptId, PayMethod, Payer, ReturnUrl, SiteId, SplitPlan,
    Timestamp, UpstreamFields, UpstreamOrderNo, WechatSubMerchant, parse_client_ip,
};

use super::StoreError;

/// A yes/no column (BIGINT 0 or 1: the same type on both backends); `None` for any other value.
pub(crate) fn flag(value: i64) -> Option<bool> {
    match value {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

/// Every column [`OrderRow`] reads, as one literal.
macro_rules! order_columns {
    () => {
        concat!(
            "id, site_id, out_trade_no, upstream_order_no, channel, method, amount_fen,",
            " currency, description, attach, notify_url, payer_openid, payer_buyer_id,",
            " payer_client_ip, fingerprint, status, checkout_token, prepay_id, code_url, h5_url,",
            " qr_code, transaction_id, trade_no, upstream_error, created_at, updated_at,",
            " expires_at, paid_at, closed_at, version, return_url, neutral, protocol, protocol_data,",
            " wechat_sub_mchid, wechat_sub_appid, alipay_seller_id, combine_no, profit_sharing,",
            " split_plan"
        )
    };
}
pub(crate) use order_columns;

/// `SELECT <every order column> FROM orders WHERE <$where>`, as one literal for `sqlx::query_as`.
macro_rules! select_orders_where {
    ($where:literal) => {
        concat!(
            "SELECT ",
            $crate::store::rows::order_columns!(),
            " FROM orders WHERE ",
            $where
        )
    };
}
pub(crate) use select_orders_where;

#[derive(sqlx::FromRow)]
pub(crate) struct OrderRow {
    id: i64,
    site_id: String,
    out_trade_no: String,
    upstream_order_no: String,
    channel: String,
    method: String,
    amount_fen: i64,
    currency: String,
    description: String,
    attach: Option<String>,
    notify_url: Option<String>,
    payer_openid: Option<String>,
    payer_buyer_id: Option<String>,
    payer_client_ip: Option<String>,
    fingerprint: String,
    status: String,
    checkout_token: String,
    prepay_id: Option<String>,
    code_url: Option<String>,
    h5_url: Option<String>,
    qr_code: Option<String>,
    transaction_id: Option<String>,
    trade_no: Option<String>,
    upstream_error: Option<String>,
    created_at: i64,
    updated_at: i64,
    expires_at: i64,
    paid_at: Option<i64>,
    closed_at: Option<i64>,
    version: i64,
    return_url: Option<String>,
    neutral: i64,
    protocol: Option<String>,
    protocol_data: Option<String>,
    wechat_sub_mchid: Option<String>,
    wechat_sub_appid: Option<String>,
    alipay_seller_id: Option<String>,
    combine_no: Option<String>,
    profit_sharing: i64,
    split_plan: Option<String>,
}

impl OrderRow {
    pub(crate) fn has_split_plan(&self) -> bool {
        self.split_plan.is_some()
    }

    pub(crate) fn id(&self) -> i64 {
        self.id
    }
}

impl TryFrom<OrderRow> for Order {
    type Error = StoreError;

    fn try_from(r: OrderRow) -> Result<Self, StoreError> {
        let bad = |e: crate::domain::DomainError| {
            StoreError::corrupt("order", format!("row {}: {e}", r.id))
        };
        Ok(Self {
            id: OrderId::from_i64(r.id),
            site_id: SiteId::parse(&r.site_id).map_err(bad)?,
            out_trade_no: OutTradeNo::parse(&r.out_trade_no).map_err(bad)?,
            upstream_order_no: UpstreamOrderNo::parse(&r.upstream_order_no).map_err(bad)?,
            pay_method: PayMethod::new(
                Channel::parse(&r.channel).map_err(bad)?,
                Method::parse(&r.method).map_err(bad)?,
            )
            .map_err(bad)?,
            amount: Amount::parse(r.amount_fen).map_err(bad)?,
            currency: Currency::parse(&r.currency).map_err(bad)?,
            description: Description::parse_stored(&r.description).map_err(bad)?,
            attach: r
                .attach
                .as_deref()
                .map(Attach::parse_stored)
                .transpose()
                .map_err(bad)?,
            notify_url: r
                .notify_url
                .as_deref()
                .map(NotifyUrl::parse)
                .transpose()
                .map_err(bad)?,
            return_url: r
                .return_url
                .as_deref()
                .map(ReturnUrl::parse)
                .transpose()
                .map_err(bad)?,
            payer: payer(
                r.payer_openid.as_deref(),
                r.payer_buyer_id.as_deref(),
                r.payer_client_ip.as_deref(),
            )
            .map_err(bad)?,
            origin: r
                .protocol
                .as_deref()
                .map(|p| Origin::from_stored(p, r.protocol_data.as_deref()))
                .transpose()
                .map_err(bad)?,
            sub_merchant: WechatSubMerchant::from_columns(
                r.wechat_sub_mchid.as_deref(),
                r.wechat_sub_appid.as_deref(),
            )
            .map_err(bad)?,
            alipay_seller_id: r
                .alipay_seller_id
                .as_deref()
                .map(AlipaySellerId::parse)
                .transpose()
                .map_err(bad)?,
            alipay_auth: None,
            combine_no: r
                .combine_no
                .as_deref()
                .map(UpstreamOrderNo::parse)
                .transpose()
                .map_err(bad)?,
            profit_sharing: flag(r.profit_sharing).ok_or_else(|| {
                StoreError::corrupt("order", format!("row {}: profit_sharing", r.id))
            })?,
            split_plan: r
                .split_plan
                .as_deref()
                .map(SplitPlan::from_json)
                .transpose()
                .map_err(bad)?,
            fingerprint: Fingerprint::from_stored(r.fingerprint),
            status: OrderStatus::parse(&r.status).map_err(bad)?,
            checkout_token: CheckoutToken::parse(&r.checkout_token).map_err(bad)?,
            upstream: UpstreamFields {
                prepay_id: r.prepay_id,
                code_url: r.code_url,
                h5_url: r.h5_url,
                qr_code: r.qr_code,
                transaction_id: r.transaction_id,
                trade_no: r.trade_no,
                error: r.upstream_error,
            },
            created_at: Timestamp::from_millis(r.created_at),
            updated_at: Timestamp::from_millis(r.updated_at),
            expires_at: Timestamp::from_millis(r.expires_at),
            paid_at: r.paid_at.map(Timestamp::from_millis),
            closed_at: r.closed_at.map(Timestamp::from_millis),
            version: r.version,
            neutral: flag(r.neutral)
                .ok_or_else(|| StoreError::corrupt("order", format!("row {}: neutral", r.id)))?,
            attempt: None,
        })
    }
}

/// A payer as stored, in the same three columns on orders and on pay attempts.
fn payer(
    openid: Option<&str>,
    buyer_id: Option<&str>,
    client_ip: Option<&str>,
) -> Result<Payer, crate::domain::DomainError> {
    Ok(Payer {
        openid: openid.map(Openid::parse).transpose()?,
        buyer_id: buyer_id.map(BuyerId::parse).transpose()?,
        client_ip: client_ip.map(parse_client_ip).transpose()?,
    })
}

/// Every column [`PayAttemptRow`] reads.
pub(crate) const PAY_ATTEMPT_COLUMNS: &str = "id, order_id, upstream_order_no, channel, method, \
     payer_openid, payer_buyer_id, payer_client_ip, prepay_id, code_url, h5_url, qr_code, \
     created_at, updated_at, closed_at";

#[derive(sqlx::FromRow)]
pub(crate) struct PayAttemptRow {
    id: i64,
    order_id: i64,
    upstream_order_no: String,
    channel: String,
    method: String,
    payer_openid: Option<String>,
    payer_buyer_id: Option<String>,
    payer_client_ip: Option<String>,
    prepay_id: Option<String>,
    code_url: Option<String>,
    h5_url: Option<String>,
    qr_code: Option<String>,
    created_at: i64,
    updated_at: i64,
    closed_at: Option<i64>,
}

impl TryFrom<PayAttemptRow> for PayAttempt {
    type Error = StoreError;

    fn try_from(r: PayAttemptRow) -> Result<Self, StoreError> {
        let bad = |e: crate::domain::DomainError| {
            StoreError::corrupt("pay attempt", format!("row {}: {e}", r.id))
        };
        Ok(Self {
            id: PayAttemptId::from_i64(r.id),
            order_id: OrderId::from_i64(r.order_id),
            upstream_order_no: UpstreamOrderNo::parse(&r.upstream_order_no).map_err(bad)?,
            pay_method: PayMethod::new(
                Channel::parse(&r.channel).map_err(bad)?,
                Method::parse(&r.method).map_err(bad)?,
            )
            .map_err(bad)?,
            payer: payer(
                r.payer_openid.as_deref(),
                r.payer_buyer_id.as_deref(),
                r.payer_client_ip.as_deref(),
            )
            .map_err(bad)?,
            upstream: UpstreamFields {
                prepay_id: r.prepay_id,
                code_url: r.code_url,
                h5_url: r.h5_url,
                qr_code: r.qr_code,
                ..UpstreamFields::default()
            },
            created_at: Timestamp::from_millis(r.created_at),
            updated_at: Timestamp::from_millis(r.updated_at),
            closed_at: r.closed_at.map(Timestamp::from_millis),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct OrderEventRow {
    order_id: i64,
    from_status: String,
    to_status: String,
    reason: String,
    at: i64,
}

impl TryFrom<OrderEventRow> for OrderEvent {
    type Error = StoreError;

    fn try_from(r: OrderEventRow) -> Result<Self, StoreError> {
        let bad = |e: crate::domain::DomainError| StoreError::corrupt("order event", e);
        Ok(Self {
            order_id: OrderId::from_i64(r.order_id),
            from: OrderStatus::parse(&r.from_status).map_err(bad)?,
            to: OrderStatus::parse(&r.to_status).map_err(bad)?,
            reason: r.reason,
            at: Timestamp::from_millis(r.at),
        })
    }
}
