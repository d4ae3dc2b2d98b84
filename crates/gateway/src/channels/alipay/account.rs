//! An Alipay app as paygate uses it: its client, and where Alipay sends its notifications and the
//! payer's browser. Built from the operator's `[alipay]` settings, or (sandbox mode) from a client
//! configuration pointed at the simulator.

use crate::config::AlipaySettings;
use crate::domain::{ReceiverAccount, ReceiverName};

use super::super::ChannelError;

/// An Alipay app: its client and where Alipay sends the payer and its notifications.
#[derive(Clone)]
pub struct AlipayAccount {
    pub client: ::alipay::Client,
    /// The client that verifies notifications: this app's, signed by Alipay, whatever merchant
    /// account they name. The account is checked against each notification's order instead
    /// (the app's own, or the merchant's that authorised the app).
    pub verifier: ::alipay::Client,
    pub app_id: String,
    /// Where Alipay sends payment notifications (`{public_url}/callbacks/alipay/{app_id}`).
    pub notify_url: String,
    /// Where a WAP or page payment sends the payer's browser afterwards.
    pub return_url: Option<String>,
    /// How long after payment the merchant's contract allows refunds.
    pub refund_window: std::time::Duration,
    /// The operator's own account and registered name, when the operator's fee on merchants'
    /// orders is taken by royalty (`alipay.seller_name`).
    pub fee_receiver: Option<(ReceiverAccount, ReceiverName)>,
}

impl AlipayAccount {
    /// The app with `config`'s client, its notifications addressed to this paygate at
    /// `public_url` (set on the client too, for the requests that carry it).
    ///
    /// # Errors
    /// `Invalid` when the client cannot be built from `config`.
    pub fn new(
        config: ::alipay::Config,
        app_id: String,
        public_url: &str,
    ) -> Result<Self, ChannelError> {
        let notify_url = Self::notify_url(public_url, &app_id);
        let client = ::alipay::Client::new(config.with_notify_url(notify_url.clone()))
            .map_err(|e| ChannelError::Invalid(format!("Alipay client: {e}")))?;
        Ok(Self {
            verifier: client.clone().with_any_seller(),
            client,
            app_id,
            notify_url,
            return_url: None,
            refund_window: crate::domain::RefundWindows::ALIPAY_DEFAULT,
            fee_receiver: None,
        })
    }

    /// The app the operator configured.
    ///
    /// # Errors
    /// As [`AlipayAccount::new`].
    pub fn from_settings(settings: AlipaySettings, public_url: &str) -> Result<Self, ChannelError> {
        let window = settings.refund_window;
        let mut account = Self::new(settings.client, settings.app_id, public_url)?;
        account.refund_window = window;
        account.fee_receiver = settings.fee_receiver;
        Ok(account)
    }

    /// Where Alipay notifies this paygate about `app_id`'s trades (the callback route's path).
    #[must_use]
    pub fn notify_url(public_url: &str, app_id: &str) -> String {
        format!(
            "{}/callbacks/alipay/{app_id}",
            public_url.trim_end_matches('/')
        )
    }
}

// Hand-written so that no client internals (key handles) can ever reach a log line.
impl std::fmt::Debug for AlipayAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlipayAccount")
            .field("app_id", &self.app_id)
            .field("notify_url", &self.notify_url)
            .field("return_url", &self.return_url)
            .field("refund_window", &self.refund_window)
            .finish_non_exhaustive()
    }
}
