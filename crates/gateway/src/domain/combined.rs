//! A combined order (合单): one payment by the payer for sub-orders of several sites. The platform
//! site asks for it (`CombinedRequest`); each sub-order is stored as an ordinary order of its own
//! site (a [`NewOrder`]) that names the combined order (`NewCombinedOrder`, `CombinedOrder`).

use super::{
    CheckoutToken, ExpireMinutes, Fingerprint, NewOrder, Order, OrderRequest, OrderStatus,
    OutTradeNo, PayMethod, Payer, SiteId, Timestamp, UpstreamFields, UpstreamOrderNo,
};

/// WeChat Pay's bounds on a combined order's sub-orders (合单下单: `sub_orders` 2-10 items).
pub const SUB_ORDERS_MIN: usize = 2;
pub const SUB_ORDERS_MAX: usize = 10;

/// One sub-order: the order `request` of site `site_id`. Its method, payer and expiry are the
/// combined order's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubOrderRequest {
    pub site_id: SiteId,
    pub request: OrderRequest,
}

/// What the platform asks for, parsed. Sub-orders are distinct by (site, out_trade_no) and their
/// number is within [`SUB_ORDERS_MIN`]..=[`SUB_ORDERS_MAX`] (checked at the edge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CombinedRequest {
    pub combine_out_trade_no: OutTradeNo,
    pub pay_method: PayMethod,
    pub payer: Payer,
    pub expire_minutes: ExpireMinutes,
    pub sub_orders: Vec<SubOrderRequest>,
}

impl CombinedRequest {
    /// What makes two requests "the same": the combined number, method and every sub-order's
    /// site and own fingerprint (which covers its amount, payer, expiry), in order.
    #[must_use]
    pub fn fingerprint(&self) -> Fingerprint {
        let mut fields = vec![
            (
                "combine_out_trade_no",
                self.combine_out_trade_no.as_str().to_owned(),
            ),
            ("method", self.pay_method.to_string()),
        ];
        for sub in &self.sub_orders {
            fields.push(("site_id", sub.site_id.as_str().to_owned()));
            fields.push(("sub_order", sub.request.fingerprint().as_str().to_owned()));
        }
        Fingerprint::of("c1", fields)
    }

    /// Fen: what the payer pays in all.
    #[must_use]
    pub fn amount_total(&self) -> i64 {
        self.sub_orders
            .iter()
            .map(|s| s.request.amount.as_i64())
            .sum()
    }
}

/// A combined order ready to store: its own row and one ordinary order per sub-order, all with the
/// same creation and expiry time.
#[derive(Debug, Clone)]
pub struct NewCombinedOrder {
    pub platform: SiteId,
    pub combine_out_trade_no: OutTradeNo,
    pub pay_method: PayMethod,
    pub fingerprint: Fingerprint,
    pub amount_total: i64,
    pub upstream_no: UpstreamOrderNo,
    /// The payer's checkout page of the whole combined order.
    pub checkout_token: CheckoutToken,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub sub_orders: Vec<NewOrder>,
}

/// A stored combined order, without its sub-orders (which are orders, read as such).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CombinedOrder {
    pub id: i64,
    pub platform: SiteId,
    pub combine_out_trade_no: OutTradeNo,
    /// Its `combine_out_trade_no` at WeChat Pay.
    pub upstream_no: UpstreamOrderNo,
    pub pay_method: PayMethod,
    pub fingerprint: Fingerprint,
    pub amount_total: i64,
    /// What WeChat Pay answered the create with (`prepay_id`, `code_url` or `h5_url`); all empty
    /// until it has.
    pub upstream: UpstreamFields,
    /// The payer's checkout page; `None` only for a combined order stored before paygate gave
    /// them one, until it is next read.
    pub checkout_token: Option<CheckoutToken>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// How a combined order stands for its payer, from its sub-orders as stored: one payment pays
/// them all, so it is paid only once every sub-order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayerStatus {
    /// `Paid` once every sub-order is paid (`Refunded` once every one is refunded); `Closed` or
    /// `Failed` when one is; else `Pending` (or `Created` while none went upstream), also while
    /// the payment's callbacks are recording the sub-orders one by one.
    pub status: OrderStatus,
    /// The earliest closing of a closed sub-order (closing one closes them all).
    pub closed_at: Option<Timestamp>,
    /// The latest payment of a sub-order, once all are paid.
    pub paid_at: Option<Timestamp>,
}

impl PayerStatus {
    #[must_use]
    pub fn of(sub_orders: &[Order]) -> Self {
        let all = |f: fn(OrderStatus) -> bool| {
            !sub_orders.is_empty() && sub_orders.iter().all(|o| f(o.status))
        };
        let any = |s: OrderStatus| sub_orders.iter().any(|o| o.status == s);
        let settled = all(|s| matches!(s, OrderStatus::Paid | OrderStatus::Refunded));
        let status = if settled && all(|s| s == OrderStatus::Refunded) {
            OrderStatus::Refunded
        } else if settled {
            OrderStatus::Paid
        } else if any(OrderStatus::Closed) {
            OrderStatus::Closed
        } else if any(OrderStatus::Failed) {
            OrderStatus::Failed
        } else if all(|s| s == OrderStatus::Created) {
            OrderStatus::Created
        } else {
            OrderStatus::Pending
        };
        Self {
            status,
            closed_at: sub_orders.iter().filter_map(|o| o.closed_at).min(),
            paid_at: settled
                .then(|| sub_orders.iter().filter_map(|o| o.paid_at).max())
                .flatten(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::test_order::order;

    fn status_of(statuses: &[OrderStatus]) -> OrderStatus {
        let subs: Vec<Order> = statuses
            .iter()
            .map(|s| order("wechat.native", *s))
            .collect();
        PayerStatus::of(&subs).status
    }

    #[test]
    fn paid_only_once_every_sub_order_is() {
        use OrderStatus::{Closed, Created, Failed, Paid, Pending, Refunded};
        assert_eq!(status_of(&[Paid, Paid]), Paid);
        assert_eq!(status_of(&[Paid, Refunded]), Paid);
        assert_eq!(status_of(&[Refunded, Refunded]), Refunded);
        // The payment's callbacks record the sub-orders one at a time.
        assert_eq!(status_of(&[Paid, Pending]), Pending);
        assert_eq!(status_of(&[Pending, Pending]), Pending);
        assert_eq!(status_of(&[Created, Created]), Created);
        assert_eq!(status_of(&[Closed, Pending]), Closed);
        assert_eq!(status_of(&[Failed, Pending]), Failed);
        assert_eq!(status_of(&[]), Pending);
    }
}
