//! Jeepay (`jeequan/jeepay`), the open-source Chinese payment gateway: the merchant API a site
//! written for Jeepay speaks, so it can move to paygate by changing the base URL, `mchNo`, `appId`
//! and the app secret.
//!
//! - [`sign`]: MD5 over the `k=v&` entries sorted without case, then `key=SECRET`, uppercase;
//! - [`JeepayError`]: why a request is refused, as Jeepay's own `code` and `msg`.

mod error;
pub mod sign;

pub use error::{CUSTOM_FAIL, JeepayError, PARAMS_ERROR, SYSTEM_ERROR};
