//! The few HTML pages the WeChat simulator shows a browser (web authorisation's errors, the H5 pay
//! page): one skeleton, sized for a phone, as WeChat's own pages are.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use channel_core::html::escape;

/// A whole page; `body` is HTML already escaped by the caller.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title></head><body>{body}</body></html>",
        title = escape(title),
    )
}

/// A page that only says something went wrong (or right), with `status`; `id` names the message
/// for tests (`<p id=…>`).
pub fn message(status: StatusCode, title: &str, id: &str, text: &str) -> Response {
    let body = format!(
        "<h1>{title}</h1><p id=\"{id}\">{text}</p>",
        title = escape(title),
        id = escape(id),
        text = escape(text),
    );
    (status, Html(page(title, &body))).into_response()
}
