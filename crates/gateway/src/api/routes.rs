//! Every route of the merchant API, in one list with its method: the router serves exactly these,
//! and a test checks `/openapi.json` against the same list, so a route can be neither served
//! undocumented nor documented but not served. The channels' callbacks and the sandbox routes are
//! not the merchant API: the app adds them beside these.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, MethodRouter, on};

use super::{
    Ctx, balance, checkout, checkout_apps, checkout_combined, combined, events, health,
    notifications, onepass, openapi, refunds, splits, statements, v1,
};

/// An HTTP method a route answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Verb {
    Get,
    Post,
}

impl Verb {
    fn filter(self) -> MethodFilter {
        match self {
            Self::Get => MethodFilter::GET,
            Self::Post => MethodFilter::POST,
        }
    }
}

/// A method, a path, and the handler that serves them.
pub(super) struct Route {
    pub(super) verb: Verb,
    pub(super) path: &'static str,
    /// Serves the handler on the method it is given: the route's own, when added to a router.
    serve: Box<dyn FnOnce(MethodFilter) -> MethodRouter<Ctx>>,
}

impl Route {
    fn new<H: Handler<T, Ctx>, T: 'static>(verb: Verb, path: &'static str, handler: H) -> Self {
        Self {
            verb,
            path,
            serve: Box::new(move |method| on(method, handler)),
        }
    }

    fn get<H: Handler<T, Ctx>, T: 'static>(path: &'static str, handler: H) -> Self {
        Self::new(Verb::Get, path, handler)
    }

    fn post<H: Handler<T, Ctx>, T: 'static>(path: &'static str, handler: H) -> Self {
        Self::new(Verb::Post, path, handler)
    }
}

/// The routes a site signs with its AK/SK.
pub(super) fn signed() -> Vec<Route> {
    vec![
        Route::post("/pay/wechat/native", onepass::create_native),
        Route::post("/v1/orders", v1::create),
        Route::get("/v1/orders/{out_trade_no}", v1::get),
        Route::post("/v1/orders/{out_trade_no}/close", v1::close),
        Route::post("/v1/orders/{out_trade_no}/refunds", refunds::create),
        Route::get("/v1/refunds/{out_refund_no}", refunds::get),
        Route::post("/v1/orders/{out_trade_no}/splits", splits::create),
        Route::get("/v1/splits/{out_split_no}", splits::get),
        Route::get(
            "/v1/orders/{out_trade_no}/notifications",
            notifications::order_notifications,
        ),
        Route::post("/v1/notifications/{event_id}/resend", notifications::resend),
        Route::get("/v1/statements/{date}", statements::get),
        Route::get("/v1/balance", balance::get),
        Route::post("/v1/combined-orders", combined::create),
        Route::get("/v1/combined-orders/{combine_out_trade_no}", combined::get),
    ]
}

/// The routes that take no signature: an order's checkout token is the credential of the status,
/// event stream and checkout routes; the rest show nothing of any site.
pub(super) fn open() -> Vec<Route> {
    vec![
        Route::get("/pay/wechat/status", onepass::status),
        Route::get("/pay/alipay/status", onepass::status),
        Route::get("/pay/events", events::stream),
        Route::get("/pay/wechat/checkout", checkout::page),
        Route::get("/pay/alipay/checkout", checkout::page),
        Route::get("/checkout/{token}", checkout::page_by_path),
        Route::get("/pay/wechat/jsapi", checkout_apps::wechat),
        Route::get("/checkout/{token}/wechat-h5", checkout_apps::wechat_h5),
        Route::get("/checkout/{token}/alipay", checkout_apps::alipay),
        Route::get("/combined-checkout/{token}", checkout_combined::page),
        Route::get(
            "/combined-checkout/{token}/status",
            checkout_combined::status,
        ),
        Route::get(
            "/combined-checkout/{token}/events",
            checkout_combined::events,
        ),
        Route::get("/openapi.json", openapi::json),
        Route::get("/docs", openapi::docs),
        Route::get("/healthz", health::healthz),
        Route::get("/readyz", health::readyz),
    ]
}

/// `router` with `routes` added.
pub(super) fn add(router: Router<Ctx>, routes: Vec<Route>) -> Router<Ctx> {
    routes.into_iter().fold(router, |router, route| {
        router.route(route.path, (route.serve)(route.verb.filter()))
    })
}
