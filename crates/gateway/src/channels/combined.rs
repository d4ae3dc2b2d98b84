//! Combined orders (合单) through the channels: only WeChat Pay has them. A sub-order is an order
//! of paygate's like any other for its pay parameters, refunds and callbacks; its create and close
//! are its combined order's, made here for all the sub-orders at once: through the direct
//! merchant, or through the service provider when the sub-orders are its sub-merchants'.

use super::{ChannelError, Channels, Target, wechat};
use crate::domain::{CombinedOrder, Order, UpstreamFields, UpstreamOrderNo};

impl Channels {
    /// Creates the combined order upstream with its sub-orders `subs`; the answer is the pay
    /// parameters they share. Safe to repeat, as [`Channels::create`] is.
    ///
    /// # Errors
    /// `NotConfigured`, `Invalid` (not WeChat Pay, the direct merchant's sub-orders beside
    /// sub-merchants', a payer field the method needs is missing), `Refused`, `Unknown`.
    pub async fn create_combined(
        &self,
        combined: &CombinedOrder,
        subs: &[Order],
    ) -> Result<UpstreamFields, ChannelError> {
        let sub_merchant = subs.first().and_then(|o| o.sub_merchant.as_ref());
        match self.target(combined.pay_method, sub_merchant)? {
            Target::Wechat(account, kind) => {
                wechat::combine::create(account, kind, combined, subs).await
            }
            Target::Alipay(..) => Err(not_wechat()),
        }
    }

    /// Closes the combined order `combine_no` and with it every one of its sub-orders `subs`.
    ///
    /// # Errors
    /// `NotConfigured`, `Invalid`, `Refused` (one of them is paid: none is closed), `Unknown`.
    pub async fn close_combined(
        &self,
        combine_no: &UpstreamOrderNo,
        subs: &[Order],
    ) -> Result<(), ChannelError> {
        let first = subs.first().ok_or_else(|| {
            ChannelError::Invalid("a combined order without sub-orders".to_owned())
        })?;
        match self.target(first.pay_method, first.sub_merchant.as_ref())? {
            Target::Wechat(account, _) => wechat::combine::close(account, combine_no, subs).await,
            Target::Alipay(..) => Err(not_wechat()),
        }
    }
}

fn not_wechat() -> ChannelError {
    ChannelError::Invalid("combined orders are WeChat Pay's only".to_owned())
}
