//! Request bodies are read whole before a handler runs, within a deadline and a size limit. The
//! header deadline ([`super::server`]) does not cover the body: without this a client could send
//! its headers at once and then one byte of a 64 KiB body every few seconds, holding the connection
//! (and, for a signed request, nothing else: it is not yet verified) for hours.
//!
//! The deadline is for the whole body, not between its chunks, so sending slowly does not extend
//! it. Every body paygate accepts is small (the limit is 64 KiB) and is buffered by its handler
//! anyway, so reading it here first costs nothing more.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

use super::error::ApiError;

/// How long a body may take, and how large it may be.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyRules {
    pub timeout: Duration,
    pub limit: usize,
}

/// Middleware: reads the body, then passes the request on with the bytes read.
pub(crate) async fn read_whole(
    State(rules): State<BodyRules>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let read = Limited::new(body, rules.limit).collect();
    match tokio::time::timeout(rules.timeout, read).await {
        Ok(Ok(collected)) => {
            let req = Request::from_parts(parts, Body::from(collected.to_bytes()));
            next.run(req).await
        }
        Ok(Err(e)) if e.is::<LengthLimitError>() => {
            close(ApiError::PayloadTooLarge(rules.limit).into_response())
        }
        Ok(Err(e)) => {
            close(ApiError::InvalidJson(format!("cannot read the body: {e}")).into_response())
        }
        Err(_) => close(ApiError::BodyTimeout(rules.timeout).into_response()),
    }
}

/// The rest of the body was not read: the connection cannot carry another request.
fn close(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
