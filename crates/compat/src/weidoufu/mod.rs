//! weidoufu (open.weidoufu.com): JSON pay requests signed with uppercase MD5 and a `secret_key`.

mod error;
mod sign;

pub use error::RequestError;
pub use sign::{sign, verify};
