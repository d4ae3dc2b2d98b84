//! The WeChat Pay API v3 simulator.
//!
//! Every `/v3/...` call passes through `layer::v3`: it verifies the `Authorization` signature
//! against the registered merchant key, applies API faults, and signs whatever the handler answers
//! with the merchant's platform key (`Wechatpay-*` headers), so handlers deal with business rules only.
//! Control routes (`/sim/wechat/...`, see `control`) are neither authenticated nor signed.
//! Beside WeChat Pay, the official account's web authorisation (`oauth`: `/connect/oauth2/...`,
//! `/sns/oauth2/...`), which JSAPI payments need for the payer's openid, and the H5 pay page an
//! H5 order's `h5_url` opens (`h5`: `/cgi-bin/mmpayweb-bin/checkmweb`).
//!
//! State (merchants, platform keys, orders, refunds, combined orders, official accounts' secrets)
//! is one [`crate::persist::Store`]: `wechat.json` and its journal `wechat.json.log` in the state
//! dir.

mod auth;
mod bill_controls;
mod bills;
mod certificates;
mod combine;
mod control;
mod crypto;
mod error;
pub mod fees;
mod h5;
mod html;
mod layer;
mod notify;
mod oauth;
mod orders;
mod payer;
pub(crate) mod profitsharing;
mod refunds;
mod scope;
pub mod state;
mod sub_merchants;
mod transactions;

pub use bills::{
    BillOrder, BillRefund, BillType, FundFlowRow, FundFlowWriter, TradeBillRow, TradeBillWriter,
};
mod validate;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{get, post};
use channel_core::{RsaPrivateKey, RsaPublicKey};

use crate::persist::Store;
use crate::{SimContext, SimError};
use state::{Mode, WechatState};

/// The callback log's channel name.
pub const CHANNEL: &str = "wechat";

/// The `PARTNER` argument of the handlers that serve both a direct merchant's route
/// (`/v3/pay/transactions/…`) and a service provider's (`/v3/pay/partner/transactions/…`).
const DIRECT: bool = false;
const PARTNER: bool = true;

/// All WeChat Pay routes, API and control.
///
/// # Errors
/// State cannot be loaded, or the fallback signing key cannot be made.
pub fn router(ctx: SimContext) -> Result<Router, SimError> {
    let sim = Sim::open(ctx)?;
    let api = Router::new()
        .route(
            "/v3/pay/transactions/{kind}",
            post(orders::create::<DIRECT>),
        )
        .route(
            "/v3/pay/transactions/id/{transaction_id}",
            get(transactions::query_by_id::<DIRECT>),
        )
        .route(
            "/v3/pay/transactions/out-trade-no/{out_trade_no}",
            get(transactions::query_by_no::<DIRECT>),
        )
        .route(
            "/v3/pay/transactions/out-trade-no/{out_trade_no}/close",
            post(transactions::close::<DIRECT>),
        )
        .route(
            "/v3/pay/partner/transactions/{kind}",
            post(orders::create::<PARTNER>),
        )
        .route(
            "/v3/pay/partner/transactions/id/{transaction_id}",
            get(transactions::query_by_id::<PARTNER>),
        )
        .route(
            "/v3/pay/partner/transactions/out-trade-no/{out_trade_no}",
            get(transactions::query_by_no::<PARTNER>),
        )
        .route(
            "/v3/pay/partner/transactions/out-trade-no/{out_trade_no}/close",
            post(transactions::close::<PARTNER>),
        )
        .route("/v3/refund/domestic/refunds", post(refunds::create))
        .route(
            "/v3/refund/domestic/refunds/{out_refund_no}",
            get(refunds::query),
        )
        .route("/v3/bill/tradebill", get(bills::trade_bill))
        .route("/v3/bill/fundflowbill", get(bills::fund_flow_bill))
        .route("/v3/billdownload/file", get(bills::download))
        .route("/v3/combine-transactions/{kind}", post(combine::create))
        .route(
            "/v3/combine-transactions/out-trade-no/{combine_out_trade_no}",
            get(combine::query),
        )
        .route(
            "/v3/combine-transactions/out-trade-no/{combine_out_trade_no}/close",
            post(combine::close),
        )
        .route("/v3/certificates", get(certificates::list))
        .merge(profitsharing::routes())
        .route_layer(axum::middleware::from_fn_with_state(sim.clone(), layer::v3));
    Ok(api
        .merge(control::router())
        .merge(oauth::router())
        .merge(h5::router())
        .with_state(sim))
}

/// The WeChat simulator's shared state, handed to every handler.
#[derive(Clone)]
pub(crate) struct Sim {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub ctx: SimContext,
    pub store: Store<WechatState>,
    fallback: Arc<RsaPrivateKey>,
    keys: Mutex<HashMap<String, Arc<MerchantKeys>>>,
    /// Bill files served by `/v3/billdownload/file`, by token.
    pub bill_files: Mutex<HashMap<String, bills::BillFile>>,
    /// Web authorisation's codes, in flight between the redirect and the token exchange.
    pub oauth_codes: oauth::Codes,
}

impl std::ops::Deref for Sim {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

/// A merchant's keys, parsed once.
pub(crate) struct MerchantKeys {
    pub platform: RsaPrivateKey,
    /// What `Wechatpay-Serial` says: the public key id or the certificate serial.
    pub serial_header: String,
    pub merchant_public: RsaPublicKey,
}

impl Sim {
    fn open(ctx: SimContext) -> Result<Self, SimError> {
        // A fallback key made now is in the first snapshot: on disk before anything it signs.
        let store: Store<WechatState> =
            Store::open_with(ctx.state_dir(), "wechat.json", |s: &mut WechatState| {
                if s.fallback_key_pem.is_none() {
                    let key =
                        RsaPrivateKey::generate().map_err(|e| SimError::Key(e.to_string()))?;
                    let pem = key
                        .to_pkcs8_pem()
                        .map_err(|e| SimError::Key(e.to_string()))?;
                    *s.fallback_key_pem = Some(pem);
                }
                Ok(())
            })?;
        let fallback_pem = store
            .read(|s| (*s.fallback_key_pem).clone())
            .unwrap_or_default();
        let fallback =
            RsaPrivateKey::from_pem(&fallback_pem).map_err(|e| SimError::Key(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                ctx,
                store,
                fallback: Arc::new(fallback),
                keys: Mutex::new(HashMap::new()),
                bill_files: Mutex::new(HashMap::new()),
                oauth_codes: oauth::Codes::default(),
            }),
        })
    }

    /// The parsed keys of a registered merchant.
    pub(crate) fn keys(&self, mchid: &str) -> Option<Arc<MerchantKeys>> {
        let mut cache = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(k) = cache.get(mchid) {
            return Some(k.clone());
        }
        let merchant = self.store.read(|s| s.merchants.get(mchid).cloned())?;
        let platform = RsaPrivateKey::from_pem(&merchant.platform.private_key_pem).ok()?;
        let merchant_public = RsaPublicKey::from_pem(&merchant.merchant_public_key_pem).ok()?;
        let serial_header = match merchant.mode {
            Mode::PublicKey => merchant.platform.public_key_id.clone(),
            Mode::Certificate => merchant.platform.serial_no.clone(),
        };
        let keys = Arc::new(MerchantKeys {
            platform,
            serial_header,
            merchant_public,
        });
        cache.insert(mchid.to_owned(), keys.clone());
        Some(keys)
    }

    /// Forgets parsed keys after a (re-)registration.
    pub(crate) fn forget_keys(&self, mchid: &str) {
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(mchid);
    }

    /// The key and serial that sign answers for `mchid` (the fallback key for unknown callers).
    pub(crate) fn signer(&self, mchid: Option<&str>) -> (Signer, String) {
        match mchid.and_then(|m| self.keys(m)) {
            Some(k) => (Signer::Merchant(k.clone()), k.serial_header.clone()),
            None => (
                Signer::Fallback(self.fallback.clone()),
                "PUB_KEY_ID_0000000000000000000000000000".to_owned(),
            ),
        }
    }
}

pub(crate) enum Signer {
    Merchant(Arc<MerchantKeys>),
    Fallback(Arc<RsaPrivateKey>),
}

impl Signer {
    pub(crate) fn key(&self) -> &RsaPrivateKey {
        match self {
            Self::Merchant(k) => &k.platform,
            Self::Fallback(k) => k,
        }
    }
}
