//! Request signing (seed 000): `X-1Pass-AK`, `X-1Pass-Ts` (unix seconds), `X-1Pass-Nonce`,
//! `X-1Pass-Sign` = base64url without padding of HMAC-SHA256(SK, canonical), where canonical is
//! `ts \n nonce \n METHOD \n path \n hex(sha256(body))` and path carries `?` and the raw query
//! when there is one (both built in [`crate::signing`], which notifications share). Beyond the
//! seed: a timestamp window and single-use nonces.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, OriginalUri, Request};
use axum::http::HeaderMap;
use base64::Engine as _;

use super::Ctx;
use super::error::{ApiError, AuthError};
use crate::domain::{AccessKey, ApiNonce, OrderRequest, Site, SiteStatus, Timestamp};
use crate::service::OrderView;
use crate::signing::{canonical, verify_signature};
use crate::store::NonceUse;

pub const HEADER_AK: &str = "x-1pass-ak";
pub const HEADER_TS: &str = "x-1pass-ts";
pub const HEADER_NONCE: &str = "x-1pass-nonce";
pub const HEADER_SIGN: &str = "x-1pass-sign";

/// A request whose signature checked out, its nonce used up: the site that sent it and the body it
/// signed.
#[derive(Debug)]
pub struct Signed {
    pub site: Site,
    pub body: Bytes,
}

impl FromRequest<Ctx> for Signed {
    type Rejection = ApiError;

    async fn from_request(req: Request, ctx: &Ctx) -> Result<Self, ApiError> {
        let (site, body, nonce) = verified(req, ctx).await?;
        let fresh = ctx
            .sites
            .remember_nonce(&nonce.ak, &nonce.nonce, nonce.at, nonce.retention)
            .await?;
        if !fresh {
            return Err(AuthError::NonceReused.into());
        }
        Ok(Self { site, body })
    }
}

/// An order creation whose signature checked out, its nonce not used up yet: [`SignedCreate::create`]
/// uses it up in the transaction that stores the order, which saves a create a commit of its own
/// for it. A replay is answered as [`Signed`] answers one.
#[derive(Debug)]
pub struct SignedCreate {
    pub site: Site,
    body: Bytes,
    nonce: NonceUse,
}

impl FromRequest<Ctx> for SignedCreate {
    type Rejection = ApiError;

    async fn from_request(req: Request, ctx: &Ctx) -> Result<Self, ApiError> {
        let (site, body, nonce) = verified(req, ctx).await?;
        Ok(Self { site, body, nonce })
    }
}

impl SignedCreate {
    /// Creates (or finds again) the order that the body asks for, as `parse` reads it. A body
    /// that does not parse still uses the nonce up, as it would have before being read, so that a
    /// replay of it is told `nonce_reused` rather than what is wrong with the body.
    pub async fn create(
        self,
        ctx: &Ctx,
        parse: impl FnOnce(&[u8]) -> Result<OrderRequest, ApiError>,
    ) -> Result<OrderView, ApiError> {
        let request = match parse(&self.body) {
            Ok(request) => request,
            Err(refusal) => {
                ctx.orders.use_nonce(&self.nonce).await?;
                return Err(refusal);
            }
        };
        Ok(ctx.orders.create(&self.site, request, &self.nonce).await?)
    }
}

/// Reads the headers and the body and checks the signature: the site that signed, the body, and
/// the nonce, which the caller uses up.
async fn verified(req: Request, ctx: &Ctx) -> Result<(Site, Bytes, NonceUse), ApiError> {
    // The path as the client sent it, also when this router is nested under another.
    let uri = req
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| req.uri().clone(), |o| o.0.clone());
    let path = uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let method = req.method().as_str().to_owned();
    let headers = SignedHeaders::read(req.headers())?;
    let body = Bytes::from_request(req, &())
        .await
        .map_err(|e| body_error(&e, ctx.settings.body_limit))?;
    let canonical = canonical(&headers.ts_raw, &headers.nonce, &method, &path, &body);
    let (site, nonce) = verify(ctx, headers, &canonical).await?;
    Ok((site, body, nonce))
}

/// The four headers, parsed.
struct SignedHeaders {
    ak: String,
    ts_raw: String,
    ts: i64,
    nonce: ApiNonce,
    sign: String,
}

impl SignedHeaders {
    fn read(headers: &HeaderMap) -> Result<Self, AuthError> {
        let get = |name: &'static str| -> Result<String, AuthError> {
            let value = headers
                .get(name)
                .ok_or(AuthError::MissingHeader(display_name(name)))?;
            let value = value
                .to_str()
                .map_err(|_| AuthError::MalformedHeader(display_name(name)))?
                .trim();
            if value.is_empty() {
                return Err(AuthError::MissingHeader(display_name(name)));
            }
            Ok(value.to_owned())
        };
        let ak = get(HEADER_AK)?;
        let ts_raw = get(HEADER_TS)?;
        let nonce = get(HEADER_NONCE)?;
        let sign = get(HEADER_SIGN)?;
        let ts = ts_raw
            .parse::<i64>()
            .map_err(|_| AuthError::MalformedHeader(display_name(HEADER_TS)))?;
        let nonce = ApiNonce::parse(&nonce)
            .map_err(|_| AuthError::MalformedHeader(display_name(HEADER_NONCE)))?;
        Ok(Self {
            ak,
            ts_raw,
            ts,
            nonce,
            sign,
        })
    }
}

/// The header names as seed 000 spells them, for error messages.
fn display_name(name: &'static str) -> &'static str {
    match name {
        HEADER_AK => "X-1Pass-AK",
        HEADER_TS => "X-1Pass-Ts",
        HEADER_NONCE => "X-1Pass-Nonce",
        HEADER_SIGN => "X-1Pass-Sign",
        other => other,
    }
}

fn body_error(e: &BytesRejection, limit: usize) -> ApiError {
    match e {
        BytesRejection::FailedToBufferBody(
            axum::extract::rejection::FailedToBufferBody::LengthLimitError(_),
        ) => ApiError::PayloadTooLarge(limit),
        other => ApiError::InvalidJson(other.body_text()),
    }
}

/// Whether a request stamped `ts` (unix seconds) may be accepted at `now`: the server's clock,
/// rounded down to seconds, is at most `window` away from it. Rounding down makes the accepted span
/// of one `ts` a little longer than twice the window: from `(ts - window)` s to just before
/// `(ts + window + 1)` s.
fn within_window(now: Timestamp, ts: i64, window: Duration) -> bool {
    now.as_millis().div_euclid(1000).abs_diff(ts) <= window.as_secs()
}

/// How long a used nonce is remembered: longer than the whole span in which one `ts` is accepted
/// (twice the window, plus the second lost by rounding down), or the same request could be sent
/// once at the span's start and again at its end. The extra minute covers clock differences
/// between nodes sharing one database: the nonce is stamped with one node's clock and checked
/// against another's.
#[must_use]
pub fn nonce_retention(window: Duration) -> Duration {
    window
        .saturating_mul(2)
        .saturating_add(ROUNDING)
        .saturating_add(NODE_CLOCK_MARGIN)
}

/// What rounding the server's clock down to seconds adds to the accepted span.
const ROUNDING: Duration = Duration::from_secs(1);
/// How far apart the clocks of two nodes may be without opening a replay.
const NODE_CLOCK_MARGIN: Duration = Duration::from_secs(60);

/// Checks, in an order that tells an unauthenticated caller as little as possible: the site
/// exists, the signature matches (in constant time), the timestamp is recent, the site is enabled.
/// Only then may the caller use the nonce up (so a forged request cannot use up a real client's
/// nonce).
async fn verify(
    ctx: &Ctx,
    h: SignedHeaders,
    canonical: &str,
) -> Result<(Site, NonceUse), ApiError> {
    let ak = AccessKey::parse(&h.ak).map_err(|_| AuthError::UnknownAccessKey)?;
    let site = ctx
        .sites
        .by_access_key(&ak)
        .await?
        .ok_or(AuthError::UnknownAccessKey)?;
    let provided = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(h.sign.trim_end_matches('='))
        .map_err(|_| AuthError::InvalidSignature)?;
    if !verify_signature(site.secret_key.expose(), canonical, &provided) {
        return Err(AuthError::InvalidSignature.into());
    }
    let window = ctx.settings.signature_window;
    let now = Timestamp::now();
    if !within_window(now, h.ts, window) {
        return Err(AuthError::StaleTimestamp(window.as_secs()).into());
    }
    if site.status == SiteStatus::Disabled {
        return Err(AuthError::SiteDisabled.into());
    }
    let nonce = NonceUse {
        ak,
        nonce: h.nonce,
        at: now,
        retention: nonce_retention(window),
    };
    Ok((site, nonce))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timestamp_is_accepted_for_a_little_over_twice_the_window() {
        let window = Duration::from_secs(300);
        let ts = 1_700_000_000_i64;
        let at = |ms: i64| Timestamp::from_millis(ms);
        let first = (ts - 300) * 1000;
        let last = (ts + 301) * 1000 - 1;
        assert!(!within_window(at(first - 1), ts, window));
        assert!(within_window(at(first), ts, window));
        assert!(within_window(at(last), ts, window));
        assert!(!within_window(at(last + 1), ts, window));
    }

    #[test]
    fn a_nonce_outlives_every_instant_its_timestamp_is_accepted() {
        for secs in [1, 5, 300, 3600] {
            let window = Duration::from_secs(secs);
            let ts = 1_700_000_000_i64;
            let width = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
            let first = Timestamp::from_millis((ts - width) * 1000);
            let last = Timestamp::from_millis((ts + width + 1) * 1000 - 1);
            assert!(within_window(first, ts, window) && within_window(last, ts, window));
            // The store takes a nonce over only when it was seen before `now - retention`.
            let kept = nonce_retention(window);
            assert!(
                first >= last.minus(kept),
                "window {secs}s: a nonce used at the span's start is forgotten before its end"
            );
        }
    }
}
