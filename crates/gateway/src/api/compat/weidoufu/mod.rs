//! weidoufu on paygate: not served yet.

use axum::Router;

use super::Ctx;

pub(super) fn routes() -> Router<Ctx> {
    Router::new()
}
