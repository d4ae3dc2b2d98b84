//! The OpenAPI document, generated from the handlers' annotations (`/openapi.json`), and a
//! self-contained HTML page rendered from it (`/docs`: no CDN, no script).

use std::fmt::Write as _;

use axum::Json;
use axum::response::Html;
use channel_core::html::escape;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{OpenApi as Doc, RefOr};
use utoipa::{Modify, OpenApi};

use super::balance::V1Balance;
use super::checkout_combined::CombinedStatus;
use super::combined::{V1CombinedOrder, V1CombinedRequest, V1SubOrder, V1SubOrderRequest};
use super::error::{ErrorBody, ErrorCode, UpstreamDetail};
use super::notifications::{V1Attempt, V1Notification, V1OrderNotifications, V1Resent};
use super::request::{NativeCreateRequest, V1CreateRequest, V1Payer, V1RefundRequest};
use super::split_body::{V1Split, V1SplitReceiver, V1SplitRequest, V1SplitShare};
use super::statements::{
    V1Statement, V1StatementBalance, V1StatementPayment, V1StatementRefund, V1StatementTotals,
};
use super::views::{NativeCreated, TokenStatus, V1Order, V1Refund};
use super::{
    balance, checkout, checkout_apps, checkout_combined, combined, events, health, notifications,
    onepass, refunds, splits, statements, v1,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "paygate merchant API",
        description = "WeChat Pay and Alipay behind one signed API. The 1Pass routes follow seed 000 byte for byte; `/v1` extends them to every channel and method.",
    ),
    paths(
        onepass::create_native, onepass::status, events::stream, checkout::page,
        checkout::page_by_path, checkout_apps::wechat, checkout_apps::wechat_h5,
        checkout_apps::alipay,
        checkout_combined::page, checkout_combined::status, checkout_combined::events,
        v1::create, v1::get, v1::close,
        refunds::create, refunds::get,
        splits::create, splits::get,
        notifications::order_notifications, notifications::resend,
        statements::get, balance::get,
        combined::create, combined::get,
        health::healthz, health::readyz,
        json, docs,
    ),
    components(schemas(
        NativeCreateRequest, NativeCreated, TokenStatus, V1CreateRequest, V1Payer, V1Order,
        V1RefundRequest, V1Refund, V1SplitRequest, V1SplitReceiver, V1Split, V1SplitShare,
        V1OrderNotifications, V1Notification, V1Attempt, V1Resent,
        V1Statement, V1StatementTotals, V1StatementBalance, V1StatementPayment, V1StatementRefund, V1Balance,
        V1CombinedRequest, V1SubOrderRequest, V1CombinedOrder, V1SubOrder, CombinedStatus,
        ErrorBody, ErrorCode, UpstreamDetail,
    )),
    modifiers(&Signing, &AlipayTokenRoutes),
)]
struct ApiDoc;

/// Declares the signature headers as the security scheme of the signed routes.
struct Signing;

impl Modify for Signing {
    fn modify(&self, openapi: &mut Doc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "1pass_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-1Pass-Sign",
                "With X-1Pass-AK, X-1Pass-Ts (unix seconds, ±300 s) and X-1Pass-Nonce (single use): \
                 base64url without padding of HMAC-SHA256(SK, ts\\nnonce\\nMETHOD\\npath\\nhex(sha256(body))), \
                 path including `?` and the raw query when there is one.",
            ))),
        );
    }
}

/// The status and checkout routes under `/pay/alipay/` are served by the same handlers as those
/// under `/pay/wechat/` (the token names the order, whatever its channel): the same documentation,
/// under their own paths and operation ids.
struct AlipayTokenRoutes;

impl Modify for AlipayTokenRoutes {
    fn modify(&self, openapi: &mut Doc) {
        let paths = &mut openapi.paths.paths;
        for wechat in ["/pay/wechat/status", "/pay/wechat/checkout"] {
            let Some(mut item) = paths.get(wechat).cloned() else {
                continue;
            };
            if let Some(op) = item.get.as_mut() {
                op.operation_id = op.operation_id.as_ref().map(|id| format!("alipay_{id}"));
            }
            paths.insert(wechat.replace("/wechat/", "/alipay/"), item);
        }
    }
}

/// The document, built once per call (cheap, and only on the documentation routes).
#[must_use]
pub fn document() -> Doc {
    ApiDoc::openapi()
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "documentation",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
pub async fn json() -> Json<Doc> {
    Json(document())
}

/// The same document, as a page a person can read.
#[utoipa::path(get, path = "/docs", tag = "documentation",
    responses((status = 200, description = "An HTML page", content_type = "text/html")))]
pub async fn docs() -> Html<String> {
    Html(render(&document()))
}

fn render(doc: &Doc) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>{}</h1><p>{}</p>",
        escape(&doc.info.title),
        escape(doc.info.description.as_deref().unwrap_or_default())
    );
    body.push_str(SIGNING_HTML);
    body.push_str("<h2>Routes</h2>");
    for (path, item) in &doc.paths.paths {
        let ops = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("DELETE", &item.delete),
        ];
        for (method, op) in ops {
            if let Some(op) = op {
                render_operation(&mut body, method, path, op);
            }
        }
    }
    body.push_str("<h2>Error codes</h2><p>Every error answers <code>{\"error\":\"&lt;code&gt;\",\"message\":\"…\",\"field\":\"…\"}</code>; <code>field</code> names the request field to blame, when one is.</p><table><tr><th>code</th><th>HTTP</th><th>meaning</th></tr>");
    for code in ErrorCode::ALL {
        let _ = write!(
            body,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            code.as_str(),
            code.status().as_u16(),
            escape(code.description())
        );
    }
    body.push_str("</table><h2>Schemas</h2>");
    if let Some(components) = &doc.components {
        // The error codes are the table above.
        let shown = components
            .schemas
            .iter()
            .filter(|(name, _)| name.as_str() != "ErrorCode");
        for (name, schema) in shown {
            let json = serde_json::to_string_pretty(schema).unwrap_or_default();
            let _ = write!(
                body,
                "<h3 id=\"{0}\">{0}</h3><pre>{1}</pre>",
                escape(name),
                escape(&json)
            );
        }
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>paygate API</title>\
         <style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.4}}\
         pre{{background:#f4f4f4;padding:.5rem;overflow:auto}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}}\
         .op{{border-top:1px solid #ddd;margin-top:1.5rem}}.verb{{font-weight:bold;margin-right:.5rem}}</style>\
         </head><body>{body}<p><a href=\"/openapi.json\">openapi.json</a></p></body></html>"
    )
}

fn render_operation(out: &mut String, method: &str, path: &str, op: &Operation) {
    let _ = write!(
        out,
        "<div class=\"op\"><h3><span class=\"verb\">{method}</span><code>{}</code></h3><p>{}</p>",
        escape(path),
        escape(
            op.description
                .as_deref()
                .or(op.summary.as_deref())
                .unwrap_or_default()
        )
    );
    if let Some(params) = &op.parameters {
        out.push_str("<p>Parameters:</p><ul>");
        for p in params {
            let _ = write!(
                out,
                "<li><code>{}</code> ({}): {}</li>",
                escape(&p.name),
                serde_json::to_value(&p.parameter_in)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                escape(p.description.as_deref().unwrap_or_default())
            );
        }
        out.push_str("</ul>");
    }
    if let Some(body) = &op.request_body {
        for content in body.content.values() {
            if let Some(RefOr::Ref(r)) = &content.schema {
                let name = r.ref_location.rsplit('/').next().unwrap_or_default();
                let _ = write!(out, "<p>Body: <a href=\"#{0}\">{0}</a></p>", escape(name));
            }
        }
    }
    out.push_str("<table><tr><th>status</th><th>meaning</th></tr>");
    for (status, response) in &op.responses.responses {
        let text = match response {
            RefOr::T(r) => r.description.clone(),
            RefOr::Ref(r) => r.ref_location.clone(),
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(status),
            escape(&text)
        );
    }
    out.push_str("</table></div>");
}

const SIGNING_HTML: &str = "<h2>Signing</h2>\
<p>Every route under <code>/pay/wechat/native</code> and <code>/v1</code> is signed with the site's AK/SK, as seed 000 (1Pass) does:</p>\
<pre>X-1Pass-AK: &lt;ak&gt;\nX-1Pass-Ts: &lt;unix seconds&gt;\nX-1Pass-Nonce: &lt;8-128 visible ASCII, single use&gt;\nX-1Pass-Sign: base64url_nopad(HMAC-SHA256(SK, canonical))\n\ncanonical = ts + \"\\n\" + nonce + \"\\n\" + METHOD + \"\\n\" + path + \"\\n\" + hex(sha256(body))</pre>\
<p><code>path</code> includes <code>?</code> and the raw query string when there is one. The timestamp must be within 300 seconds of paygate's clock and a nonce is accepted once. The status and checkout routes take the order's <code>ck_</code> token instead of a signature.</p>";

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;
    use utoipa::openapi::PathItem;

    use super::*;
    use crate::api::routes::{self, Route, Verb};

    fn verb_name(verb: Verb) -> &'static str {
        match verb {
            Verb::Get => "get",
            Verb::Post => "post",
        }
    }

    /// Every operation of a path item, by method name.
    fn operations(item: &PathItem) -> impl Iterator<Item = (&'static str, &Operation)> {
        [
            ("get", &item.get),
            ("put", &item.put),
            ("post", &item.post),
            ("delete", &item.delete),
            ("options", &item.options),
            ("head", &item.head),
            ("patch", &item.patch),
            ("trace", &item.trace),
        ]
        .into_iter()
        .filter_map(|(method, op)| op.as_ref().map(|op| (method, op)))
    }

    fn served(routes: Vec<Route>) -> BTreeSet<(&'static str, String)> {
        routes
            .into_iter()
            .map(|r| (verb_name(r.verb), r.path.to_owned()))
            .collect()
    }

    /// The merchant API's router is built from `routes::signed` and `routes::open`; the document
    /// must list exactly those. The channels' callbacks (`/callbacks/wechat/{mchid}`,
    /// `/callbacks/alipay/{app_id}`) are left out on purpose: the channels call them, signed their
    /// own way, and sites never do. So are the sandbox routes, which exist only in sandbox mode.
    /// The app adds both beside the merchant API; neither is in these lists.
    #[test]
    fn the_document_lists_exactly_the_routes_the_router_serves() {
        let doc = document();
        let documented: BTreeSet<(&str, String)> = doc
            .paths
            .paths
            .iter()
            .flat_map(|(path, item)| operations(item).map(move |(m, _)| (m, path.clone())))
            .collect();
        let mut all = served(routes::signed());
        all.extend(served(routes::open()));
        let undocumented: Vec<_> = all.difference(&documented).collect();
        let not_served: Vec<_> = documented.difference(&all).collect();
        assert!(
            undocumented.is_empty(),
            "served, not documented: {undocumented:?}"
        );
        assert!(
            not_served.is_empty(),
            "documented, not served: {not_served:?}"
        );
    }

    #[test]
    fn the_signed_routes_are_documented_as_signed_and_the_others_as_open() {
        let doc = document();
        let operation = |method: &str, path: &str| {
            let item = doc.paths.paths.get(path).expect(path);
            operations(item)
                .find(|(m, _)| *m == method)
                .map(|(_, op)| op.clone())
                .expect(path)
        };
        let signed_by_scheme = |op: &Operation| {
            let json = serde_json::to_value(op).expect("serializes");
            let by_scheme = json["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("1pass_signature").is_some()));
            let by_headers = json["parameters"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["name"] == "X-1Pass-Sign"));
            by_scheme || by_headers
        };
        for (method, path) in served(routes::signed()) {
            assert!(
                signed_by_scheme(&operation(method, &path)),
                "{method} {path}"
            );
        }
        for (method, path) in served(routes::open()) {
            assert!(
                !signed_by_scheme(&operation(method, &path)),
                "{method} {path}"
            );
        }
    }

    /// Every error answers with an [`ErrorCode`] (an exhaustive mapping); each must be in both
    /// renderings of the documentation with its status.
    #[test]
    fn every_error_code_is_documented_with_its_status() {
        let doc = document();
        let json = serde_json::to_value(&doc).expect("serializes");
        let schemas = &json["components"]["schemas"];
        assert_eq!(
            schemas["ErrorBody"]["properties"]["error"]["$ref"],
            "#/components/schemas/ErrorCode"
        );
        let listed: Vec<&str> = schemas["ErrorCode"]["enum"]
            .as_array()
            .expect("an enum")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let table = schemas["ErrorCode"]["description"]
            .as_str()
            .unwrap_or_default();
        let html = render(&doc);
        for code in ErrorCode::ALL {
            let (name, status) = (code.as_str(), code.status().as_u16());
            assert!(listed.contains(&name), "{name} not in the ErrorCode enum");
            assert!(
                table.contains(&format!("| `{name}` | {status} |")),
                "{name} {status}"
            );
            assert!(
                html.contains(&format!(
                    "<tr><td><code>{name}</code></td><td>{status}</td>"
                )),
                "{name} {status} not in /docs"
            );
        }
        assert_eq!(listed.len(), ErrorCode::ALL.len());
    }

    #[test]
    fn notification_routes_schemas_and_errors_are_documented() {
        let doc = document();
        let schemas = &doc.components.as_ref().expect("components").schemas;
        for name in [
            "V1OrderNotifications",
            "V1Notification",
            "V1Attempt",
            "V1Resent",
        ] {
            assert!(schemas.contains_key(name), "{name} missing");
        }
        let html = render(&doc);
        assert!(html.contains("/v1/notifications/{event_id}/resend"));
        assert!(html.contains("<code>notification_not_found</code></td><td>404"));
    }

    #[test]
    fn refund_routes_document_their_body_answer_and_errors() {
        let json = serde_json::to_value(document()).expect("serializes");
        let schemas = &json["components"]["schemas"];
        for name in ["V1RefundRequest", "V1Refund"] {
            assert!(schemas.get(name).is_some(), "{name} missing");
        }
        assert!(
            schemas["V1Order"]["properties"]
                .get("refunds")
                .is_some_and(|p| p.to_string().contains("V1Refund"))
        );
        let create = &json["paths"]["/v1/orders/{out_trade_no}/refunds"]["post"];
        let errors = create["responses"].to_string();
        for code in [
            "invalid_amount",
            "missing_fields",
            "order_not_found",
            "order_not_refundable",
            "refund_exceeds_paid",
            "out_refund_no_conflict",
            "refund_window_passed",
        ] {
            assert!(errors.contains(code), "{code} not documented: {errors}");
        }
        let get = json["paths"]["/v1/refunds/{out_refund_no}"]["get"]["responses"].to_string();
        assert!(get.contains("refund_not_found"), "{get}");
    }
}
