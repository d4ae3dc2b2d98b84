//! The middleware around every `/v3/...` route: authenticate, inject faults, sign the answer.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Sim;
use super::auth::{self, Caller};
use super::crypto::now_unix;
use super::error::ApiError;
use crate::faults::{self, ApiFault};

/// WeChat Pay bodies are small; this only bounds memory.
const MAX_BODY: usize = 1 << 20;

pub async fn v3(State(sim): State<Sim>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let claimed = auth::claimed_mchid(&parts.headers);
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        let e = ApiError::param("请求体过大或无法读取");
        return sign(&sim, claimed.as_deref(), e.into_response()).await;
    };
    let caller = match auth::verify(&sim, &parts.method, &parts.uri, &parts.headers, &bytes) {
        Ok(c) => c,
        Err(e) => {
            tracing::info!(code = e.code, message = %e.message, path = %parts.uri.path(), "wechat request refused");
            return sign(&sim, claimed.as_deref(), e.into_response()).await;
        }
    };
    if let Err(fault) = faults::check_api(&sim.ctx).await {
        let e = match fault {
            ApiFault::ServerError | ApiFault::Hung => ApiError::system(),
            ApiFault::RateLimited => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "FREQUENCY_LIMITED",
                "请求频率超限",
            ),
        };
        return sign(&sim, Some(&caller.mchid), e.into_response()).await;
    }
    let mchid = caller.mchid.clone();
    parts.extensions.insert::<Caller>(caller);
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    sign(&sim, Some(&mchid), response).await
}

/// Adds the `Wechatpay-*` headers over the exact body sent (`TS\nNONCE\nBODY\n`).
async fn sign(sim: &Sim, mchid: Option<&str>, response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        return ApiError::system().into_response();
    };
    let (signer, serial) = sim.signer(mchid);
    let timestamp = now_unix().to_string();
    let nonce = channel_core::nonce::alphanumeric(32);
    let mut message = Vec::with_capacity(bytes.len() + 64);
    message.extend_from_slice(format!("{timestamp}\n{nonce}\n").as_bytes());
    message.extend_from_slice(&bytes);
    message.push(b'\n');
    // Half a millisecond of CPU: on a blocking thread, so the runtime's workers keep serving.
    let signature =
        match tokio::task::spawn_blocking(move || signer.key().sign_base64(&message)).await {
            Ok(signature) => signature,
            Err(_) => return ApiError::system().into_response(),
        };
    let request_id = format!("08{}", channel_core::nonce::alphanumeric(30)).to_uppercase();
    for (name, value) in [
        ("wechatpay-timestamp", timestamp),
        ("wechatpay-nonce", nonce),
        ("wechatpay-signature", signature),
        ("wechatpay-serial", serial),
        (
            "wechatpay-signature-type",
            "WECHATPAY2-SHA256-RSA2048".to_owned(),
        ),
        ("request-id", request_id),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            parts.headers.insert(HeaderName::from_static(name), v);
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}
