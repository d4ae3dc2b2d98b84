//! A pay attempt: one upstream order of a channel-neutral order, made when the payer's app became
//! known (WeChat JSAPI inside WeChat, Alipay WAP inside Alipay, a QR code per method on a desktop).
//! An order may have several; the first one paid is the order's payment, and the others are closed.

use super::{OrderId, PayMethod, Payer, Timestamp, UpstreamFields, UpstreamOrderNo};

/// paygate's row id of a pay attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PayAttemptId(i64);

impl PayAttemptId {
    #[must_use]
    pub const fn from_i64(id: i64) -> Self {
        Self(id)
    }

    #[must_use]
    pub const fn as_i64(self) -> i64 {
        self.0
    }
}

/// A stored pay attempt, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayAttempt {
    pub id: PayAttemptId,
    pub order_id: OrderId,
    /// Its own number at the channel: every attempt is a separate upstream order.
    pub upstream_order_no: UpstreamOrderNo,
    pub pay_method: PayMethod,
    /// Who pays (the openid or buyer id the app gave, the phone browser's IP).
    pub payer: Payer,
    /// What the channel answered the create (`prepay_id`, `code_url`, `h5_url`, `qr_code`).
    pub upstream: UpstreamFields,
    pub created_at: Timestamp,
    /// When the channel last answered the create.
    pub updated_at: Timestamp,
    /// When the channel confirmed it can no longer be paid.
    pub closed_at: Option<Timestamp>,
}

impl PayAttempt {
    /// Whether this attempt serves a payer who pays by `method` as `payer`: the same method, and
    /// the same WeChat or Alipay user (whose id the upstream order is bound to). A phone
    /// browser's IP may change between visits and does not bind anything.
    #[must_use]
    pub fn serves(&self, method: PayMethod, payer: &Payer) -> bool {
        self.closed_at.is_none()
            && self.pay_method == method
            && self.payer.openid == payer.openid
            && self.payer.buyer_id == payer.buyer_id
    }
}
