//! `[http]` (deadlines for slow clients, the per-client limit on unsigned routes) and `[metrics]`
//! (where `/metrics` is served, and its token).

use super::ConfigError;
use super::raw::Raw;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::api::{HttpSettings, MetricsSettings, MetricsToken, RateLimit, TrustedProxies};

/// `[http]`. A rate limit of 0 turns the limit off (behind a proxy that limits, say).
pub(crate) fn http(raw: &Raw) -> Result<HttpSettings, ConfigError> {
    let defaults = HttpSettings::default();
    let default_rate = defaults.rate_limit.unwrap_or(RateLimit::DEFAULT);
    let positive = |name: &'static str, default| -> Result<_, ConfigError> {
        let value = raw.duration(name)?.unwrap_or(default);
        if value.is_zero() {
            return Err(raw.invalid(name, "must be longer than zero"));
        }
        Ok(value)
    };
    let header_read_timeout = positive("http.header_read_timeout", defaults.header_read_timeout)?;
    let body_read_timeout = positive("http.body_read_timeout", defaults.body_read_timeout)?;
    let per_second = raw
        .u32("http.rate_limit")?
        .unwrap_or(default_rate.per_second);
    let burst = raw
        .u32("http.rate_limit_burst")?
        .unwrap_or(default_rate.burst);
    let rate_limit = match (per_second, burst) {
        (0, _) => None,
        (_, 0) => {
            return Err(raw.invalid(
                "http.rate_limit_burst",
                "must be at least 1 (set http.rate_limit = 0 to turn the limit off)",
            ));
        }
        (per_second, burst) => Some(RateLimit { per_second, burst }),
    };
    let trusted_proxies = raw
        .text_list("http.trusted_proxies", "IP addresses or networks")?
        .iter()
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    raw.invalid(
                        "http.trusted_proxies",
                        "must list IP addresses or networks, such as 10.0.0.0/8 or 127.0.0.1",
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpSettings {
        header_read_timeout,
        body_read_timeout,
        rate_limit,
        trusted_proxies: TrustedProxies::new(trusted_proxies),
    })
}

/// `[metrics]`.
pub(crate) fn metrics(raw: &Raw) -> Result<MetricsSettings, ConfigError> {
    let given = raw.text("metrics.listen")?;
    let explicit = given.is_some();
    let listen = given.unwrap_or_else(|| MetricsSettings::DEFAULT_LISTEN.to_owned());
    let listen = if listen.eq_ignore_ascii_case("off") {
        None
    } else {
        Some(listen.parse().map_err(|_| {
            raw.invalid(
                "metrics.listen",
                "must be IP:PORT, such as 127.0.0.1:9464, or \"off\"",
            )
        })?)
    };
    let token = raw
        .text("metrics.token")?
        .map(|t| MetricsToken::parse(&t).map_err(|reason| raw.invalid("metrics.token", reason)))
        .transpose()?;
    Ok(MetricsSettings {
        listen,
        token,
        explicit,
    })
}
