//! The wire formats of payment protocols that existing clients speak, so that a site already
//! written for one of them can move to paygate by changing a base URL and a key:
//!
//! - [`epay`]: 易支付 (EPay) V1, spoken by many open-source shops, relays and panels;
//! - [`weidoufu`]: weidoufu's mini-program API;
//! - [`jeepay`]: Jeepay, the open-source Chinese payment gateway.
//!
//! Each module signs and verifies, parses requests into plain typed values (money in fen), and
//! renders answers and notifications. Nothing here does HTTP or storage: the gateway's adapters do,
//! and call the same order services as paygate's own API.

pub mod epay;
pub mod jeepay;
pub mod weidoufu;

mod digest;
mod notice;

pub use digest::{md5_hex_lower, md5_hex_upper, same_text, same_text_ignoring_case};
pub use notice::{Ack, Notice, NoticeMethod};

/// A request's parameters as received: URL-decoded keys and values, in their order, duplicates
/// kept (each protocol says which one counts).
pub type Params = Vec<(String, String)>;
