//! The Alipay OpenAPI simulator.
//!
//! `/gateway.do` (GET or POST; parameters from the query string, a form body, or both) verifies the
//! request signature with the app's registered public key and answers as Alipay does, each answer
//! signed with the Alipay key made for that app (`gateway.rs`). Payments the buyer completes in
//! a browser (`alipay.trade.wap.pay`, `page.pay`, `app.pay`) land on a cashier page whose button
//! pays as the sandbox buyer (`cashier.rs`). Paying, closing and refunding send
//! `trade_status_sync` notifications through the shared callback engine (`notify.rs`).
//! Royalty (`trade/relation.rs`, `trade/settle.rs`): receivers bound per app; settlements
//! succeed synchronously, only to bound receivers, idempotently per `out_request_no`, and never
//! beyond what was paid less refunds and earlier splits (refunds likewise never take back what was
//! split); `royalty_finish` releases the rest, after which nothing more can be split.
//!
//! Control API (unauthenticated, `control.rs`):
//! - `POST /sim/alipay/apps` `{app_id, app_public_key_pem, notify_url?}` → `{app_id, alipay_public_key_pem, notify_url}`
//! - `GET /sim/alipay/apps/{app_id}` → the same
//! - `POST /sim/alipay/app-auth {app_id, merchant_id?, auth_app_id?}` → `{app_auth_token,
//!   app_refresh_token, user_id, auth_app_id, expires_in, re_expires_in}`: a merchant authorises
//!   a service provider's app (`app_auth.rs`). Calls with the token act for that merchant: its
//!   trades, its royalty receivers, its bills; notifications name it (`seller_id`, `auth_app_id`).
//! - `GET /sim/alipay/trades/{out_trade_no}?app_id=[&merchant_id=]` → the trade (`merchant_id`:
//!   the authorising merchant's `user_id`, for a trade made with its token)
//! - `POST /sim/alipay/trades/{out_trade_no}/pay?app_id=[&merchant_id=]` (optional `buyer_id`),
//!   `…/fail`, `…/finish`
//! - `GET /sim/alipay/callbacks` → the Alipay part of the callback log
//! - making Alipay's records disagree with the merchant's, for reconciliation tests
//!   (`discrepancy.rs`): `POST /sim/alipay/trades/{out_trade_no}/pay-silently`, `…/record`,
//!   `…/billed-amount`, `…/account-fee`
//!
//! Bills (`bill/`): the download URL query and `GET /sim/alipay/bills/{token}`, a zip of GBK CSV
//! files as Alipay serves them, with a 0.6% fee on every payment. Its writers
//! ([`TradeDetailWriter`], [`trade_summary`], [`trade_zip`]) are public so that a benchmark writes
//! a bill of a million rows in the same format, row by row, and serves it
//! ([`crate::SimContext::prepare_bill`]).
//!
//! State (apps with their Alipay keys, trades with refunds and settlements, royalty receivers) is one [`crate::persist::Store`]:
//! `alipay.json` and its journal `alipay.json.log` in the state dir.

mod app_auth;
mod bill;
mod cashier;
mod control;
mod discrepancy;
mod gateway;
mod notify;
pub mod state;
mod trade;
mod wire;

pub use bill::{
    AccountDetailRow, AccountDetailWriter, AccountTotals, Period, TradeDetailRow,
    TradeDetailWriter, TradeTotals, account_summary, account_zip, fee_on, trade_summary, trade_zip,
};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{get, post};
use channel_core::{RsaPrivateKey, RsaPublicKey};

use crate::persist::Store;
use crate::{SimContext, SimError};
use state::{AlipayState, App};

/// The callback log's channel name.
pub const CHANNEL: &str = "alipay";

/// All Alipay routes: the gateway, the cashier pages, bill files and the control API.
///
/// # Errors
/// State cannot be loaded.
pub fn router(ctx: SimContext) -> Result<Router, SimError> {
    let sim = Sim::open(ctx)?;
    Ok(Router::new()
        .route("/gateway.do", get(gateway::handle).post(gateway::handle))
        .route("/sim/alipay/cashier/{trade_no}", get(cashier::show))
        .route("/sim/alipay/cashier/{trade_no}/pay", post(cashier::pay))
        .route("/sim/alipay/bills/{token}", get(bill::download))
        .merge(control::router())
        .merge(app_auth::router())
        .merge(discrepancy::router())
        .with_state(sim))
}

/// The simulator's shared state, handed to every handler.
#[derive(Clone)]
pub(crate) struct Sim {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub ctx: SimContext,
    pub store: Store<AlipayState>,
    /// Parsed keys per app: parsing RSA keys on every call would dominate the simulator's cost.
    keys: Mutex<HashMap<String, Arc<AppKeys>>>,
    /// Bill download tokens; short-lived like Alipay's URLs, so memory only.
    pub bills: Mutex<HashMap<String, bill::Ticket>>,
}

pub(crate) struct AppKeys {
    pub app_public: RsaPublicKey,
    pub alipay_private: RsaPrivateKey,
}

impl std::ops::Deref for Sim {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl Sim {
    fn open(ctx: SimContext) -> Result<Self, SimError> {
        let store = Store::open(ctx.state_dir(), "alipay.json")?;
        Ok(Self {
            inner: Arc::new(Inner {
                ctx,
                store,
                keys: Mutex::new(HashMap::new()),
                bills: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The keys of a registered app, `None` for an unknown app.
    pub fn keys(&self, app_id: &str) -> Option<Arc<AppKeys>> {
        let mut cache = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(k) = cache.get(app_id) {
            return Some(k.clone());
        }
        let app = self.store.read(|s| s.apps.get(app_id).cloned())?;
        let keys = Arc::new(AppKeys {
            app_public: RsaPublicKey::from_pem(&app.app_public_key_pem).ok()?,
            alipay_private: RsaPrivateKey::from_pem(&app.alipay_private_key_pem).ok()?,
        });
        cache.insert(app_id.to_owned(), keys.clone());
        Some(keys)
    }

    /// Registers an app or replaces its public key; the Alipay key made the first time is kept.
    pub async fn register(
        &self,
        app_id: &str,
        app_public_key_pem: &str,
        notify_url: Option<String>,
    ) -> Result<App, String> {
        let app_public = RsaPublicKey::from_pem(app_public_key_pem)
            .map_err(|e| format!("app_public_key_pem: {e}"))?;
        let existing = self.store.read(|s| s.apps.get(app_id).cloned());
        let (private_pem, public_pem) = match existing {
            Some(app) => (app.alipay_private_key_pem, app.alipay_public_key_pem),
            None => {
                let key = RsaPrivateKey::generate().map_err(|e| e.to_string())?;
                let public = key.public_key().map_err(|e| e.to_string())?;
                (
                    key.to_pkcs8_pem().map_err(|e| e.to_string())?,
                    public.to_pem(),
                )
            }
        };
        let alipay_private = RsaPrivateKey::from_pem(&private_pem).map_err(|e| e.to_string())?;
        let app = App {
            app_id: app_id.to_owned(),
            app_public_key_pem: app_public.to_pem(),
            alipay_private_key_pem: private_pem,
            alipay_public_key_pem: public_pem,
            notify_url,
        };
        self.store
            .update(|s| s.apps.insert(app_id.to_owned(), app.clone()))
            .await
            .map_err(|e| e.to_string())?;
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                app_id.to_owned(),
                Arc::new(AppKeys {
                    app_public,
                    alipay_private,
                }),
            );
        Ok(app)
    }
}
