//! The client's address, as the API's per-client limit sees it: the connection's peer, or behind a
//! trusted proxy the address that proxy forwarded (`http.trusted_proxies`). What a client writes in
//! `X-Forwarded-For` itself is never believed. Used for the per-address login limit and the audit
//! log.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;

use crate::api::TrustedProxies;

/// The client of `parts`, as text (an IPv4 address also when it came as IPv4-mapped IPv6); `None`
/// when the server gave no peer address.
pub(super) fn client_ip(parts: &Parts, trusted: &TrustedProxies) -> Option<String> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    let client = trusted.client(peer, &parts.headers);
    let client = match client {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(client, IpAddr::V4),
        IpAddr::V4(_) => client,
    };
    Some(client.to_string())
}

/// The client's address as an extractor (see [`client_ip`]).
pub(super) struct ClientIp(pub Option<String>);

impl axum::extract::FromRequestParts<super::ConsoleState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &super::ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_ip(parts, &state.settings.trusted_proxies)))
    }
}
