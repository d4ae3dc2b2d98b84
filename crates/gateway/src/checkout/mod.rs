//! The hosted checkout page: the order's site, description and amount, its QR code drawn on the
//! server as inline SVG, a countdown to its expiry and its status kept current by a small inline
//! script (status stream, else polling), in Chinese or English, with a "simulate payment" button
//! in sandbox mode. The HTTP handlers are `api::checkout`; this module is the page itself.
//!
//! - `lang`: the two string tables and how a language is chosen.
//! - `state`: what the page tells the payer, from paygate's recorded status and the clock.
//! - `qr`: the QR code as SVG.
//! - `assets`: the inline style and script, and the CSP that allows exactly them.
//! - `page`: the templates and how an order fills them.
//! - `combined`: the page of a combined order (合单), made of the same parts.

mod agent;
mod assets;
mod combined;
mod lang;
mod page;
mod qr;
mod state;

pub use agent::Agent;
pub use assets::{SCRIPT, STYLE, content_security_policy, onward_policy, security_headers};
pub use combined::{CombinedCheckout, CombinedItem, CombinedPage};
pub use lang::Lang;
pub use page::{Checkout, CheckoutPage, ErrorPage, OnwardPage, PayChoice};
pub use state::PageState;
