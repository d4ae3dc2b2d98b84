//! WeChat Pay H5 (MWEB): the pay link an H5 order answers ([`link`]) and the page it opens in the
//! payer's phone browser ([`page`]).
//!
//! - `GET /cgi-bin/mmpayweb-bin/checkmweb?prepay_id=…&package=…[&redirect_url=…]` shows the order
//!   and a 确认支付 button (`data-testid="sim-wechat-h5-pay"`); 404 unknown prepay, 409 paid or
//!   closed, 403 链接已失效 past five minutes, 400 a link that is not whole.
//! - `POST /sim/wechat/h5/pay` (the button's form) pays the order as the control API does, then
//!   `303` to `redirect_url`, or a 支付成功 page.

pub mod link;
mod page;

use axum::Router;
use axum::routing::{get, post};

use super::Sim;

pub fn router() -> Router<Sim> {
    Router::new()
        .route(link::PATH, get(page::show))
        .route(page::PAY_PATH, post(page::pay))
}
