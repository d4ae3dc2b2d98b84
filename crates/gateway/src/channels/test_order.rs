//! An order as the store reads it back, for the transformers' unit tests.

use crate::domain::{
    Amount, CheckoutToken, Currency, Description, Fingerprint, Order, OrderId, OrderStatus,
    OutTradeNo, PayMethod, Payer, SiteId, Timestamp, UpstreamFields, UpstreamOrderNo,
};

pub(crate) fn order(method: &str, status: OrderStatus) -> Order {
    let now = Timestamp::from_millis(1_706_601_234_000);
    Order {
        id: OrderId::from_i64(1),
        site_id: SiteId::parse("site_1").unwrap(),
        out_trade_no: OutTradeNo::parse("order_1").unwrap(),
        upstream_order_no: UpstreamOrderNo::parse("pg1706601234000abcdefghijklmnopq").unwrap(),
        pay_method: PayMethod::parse_dotted(method).unwrap(),
        amount: Amount::parse(2990).unwrap(),
        currency: Currency::Cny,
        description: Description::parse("VIP月卡").unwrap(),
        attach: None,
        notify_url: None,
        return_url: None,
        payer: Payer::default(),
        origin: None,
        sub_merchant: None,
        alipay_seller_id: None,
        profit_sharing: false,
        alipay_auth: None,
        split_plan: None,
        combine_no: None,
        fingerprint: Fingerprint::from_stored("v1:x".into()),
        status,
        checkout_token: CheckoutToken::generate(),
        upstream: UpstreamFields::default(),
        created_at: now,
        updated_at: now,
        expires_at: now,
        paid_at: None,
        closed_at: None,
        version: 0,
        neutral: false,
        attempt: None,
    }
}

/// A create request of the same content.
pub(crate) fn request(method: &str) -> crate::domain::OrderRequest {
    crate::domain::OrderRequest {
        out_trade_no: OutTradeNo::parse("order_1").unwrap(),
        pay_method: PayMethod::parse_dotted(method).unwrap().into(),
        amount: Amount::parse(2990).unwrap(),
        currency: Currency::Cny,
        description: Description::parse("VIP月卡").unwrap(),
        attach: None,
        notify_url: None,
        return_url: None,
        payer: Payer::default(),
        expire_minutes: crate::domain::ExpireMinutes::default(),
        profit_sharing: false,
    }
}
