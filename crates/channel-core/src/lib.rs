//! What the channel clients (WeChat Pay, Alipay) and their simulators share.
//!
//! Both channels sign with SHA256withRSA, both need random nonces, both move money that paygate keeps
//! as `i64` fen, and both can fail in the same three ways that a gateway must tell apart: the channel
//! refused, the answer could not be trusted, or nobody knows what happened. The HTML escaper is here
//! because Alipay's payment form and the gateway's pages both need it.

pub mod html;
pub mod money;
pub mod nonce;
pub mod rsa;
pub mod transport;

pub use money::{Fen, MoneyError};
pub use rsa::{KeyError, RsaPrivateKey, RsaPublicKey, SignatureError};
pub use transport::TransportError;
