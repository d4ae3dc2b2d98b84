//! Where a notify URL may lead. A notify URL is the site's to choose, so paygate must not become a
//! way into its own network: only `http`/`https`, and every address the host resolves to is checked
//! (see `address`) twice: by [`vet`] before the request, and by [`VettingResolver`], the HTTP
//! client's own resolver, when it connects. So a name that changes its answer between check and
//! connect (DNS rebinding) gains nothing.

use std::net::{IpAddr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use super::address::refused_class;

/// Why a notify URL was not even tried. No connection was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetRefused {
    #[error("scheme {0:?} is not http or https")]
    Scheme(String),
    #[error("the URL has no host")]
    NoHost,
    #[error("{host} resolves to {ip}, a {class} address")]
    Address {
        host: String,
        ip: IpAddr,
        class: &'static str,
    },
    #[error("{0} does not resolve to any address")]
    NoAddress(String),
}

impl TargetRefused {
    /// Whether the refusal is about where the URL leads (a non-public address), as opposed to what
    /// the URL itself says.
    #[must_use]
    pub fn is_private_address(&self) -> bool {
        match self {
            Self::Address { .. } => true,
            Self::Scheme(_) | Self::NoHost | Self::NoAddress(_) => false,
        }
    }
}

/// Which addresses one delivery may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Targets {
    /// Public addresses only: every site's default.
    PublicOnly,
    /// Any address, private ones included: a site the operator allowed (or sandbox mode).
    AnyAddress,
}

/// Refuses a URL that is not http(s), or whose host is (or resolves to) a non-public address
/// when `targets` is `PublicOnly`. Otherwise tells whether any of its addresses is non-public.
///
/// # Errors
/// `Refused`.
pub(super) async fn vet(url: &Url, targets: Targets) -> Result<bool, TargetRefused> {
    match url.scheme() {
        "http" | "https" => {}
        other => return Err(TargetRefused::Scheme(other.to_owned())),
    }
    let host = url.host().ok_or(TargetRefused::NoHost)?;
    let addrs: Vec<IpAddr> = match host {
        Host::Ipv4(ip) => vec![IpAddr::V4(ip)],
        Host::Ipv6(ip) => vec![IpAddr::V6(ip)],
        Host::Domain(name) => lookup(name)
            .await
            .map_err(|_| TargetRefused::NoAddress(name.to_owned()))?,
    };
    if addrs.is_empty() {
        return Err(TargetRefused::NoAddress(host.to_string()));
    }
    // One refused address refuses the name: a public name has no business pointing inside.
    let first_private = addrs
        .into_iter()
        .find_map(|ip| refused_class(ip).map(|class| (ip, class)));
    match (first_private, targets) {
        (None, _) => Ok(false),
        (Some(_), Targets::AnyAddress) => Ok(true),
        (Some((ip, class)), Targets::PublicOnly) => Err(TargetRefused::Address {
            host: host.to_string(),
            ip,
            class,
        }),
    }
}

/// The resolver the client connects through: the system resolver, then the same address check as
/// [`vet`], so the address connected to is always one that was checked.
pub(super) struct VettingResolver {
    pub(super) allow_private: bool,
}

impl Resolve for VettingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let ips = lookup(&host).await?;
            let mut kept = Vec::with_capacity(ips.len());
            for ip in ips {
                match refused_class(ip) {
                    Some(class) if !allow_private => {
                        return Err(TargetRefused::Address {
                            host: host.clone(),
                            ip,
                            class,
                        }
                        .into());
                    }
                    _ => kept.push(SocketAddr::new(ip, 0)),
                }
            }
            if kept.is_empty() {
                return Err(TargetRefused::NoAddress(host).into());
            }
            let addrs: Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}

async fn lookup(host: &str) -> std::io::Result<Vec<IpAddr>> {
    Ok(tokio::net::lookup_host((host, 0))
        .await?
        .map(|a| a.ip())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn vets_urls_before_connecting() {
        let vet = |u: &str, targets: Targets| {
            let url = Url::parse(u).unwrap();
            async move { vet(&url, targets).await }
        };
        assert!(matches!(
            vet("ftp://example.com/", Targets::AnyAddress).await,
            Err(TargetRefused::Scheme(_))
        ));
        for u in [
            "http://127.0.0.1:9/n",
            "http://10.0.0.1/n",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:9/n",
            "http://2130706433/n",
            "http://localhost:9/n",
            "http://[::ffff:0:7f00:1]:9/n",
            "http://[::ffff:0:a9fe:a9fe]/latest/meta-data/",
            "http://[64:ff9b:1::a00:1]/n",
            "http://[64:ff9b::a00:1]/n",
        ] {
            let refused = vet(u, Targets::PublicOnly).await.unwrap_err();
            assert!(refused.is_private_address(), "{u}: {refused}");
            // The same URL for a delivery that may reach private targets: allowed, and known private.
            assert_eq!(vet(u, Targets::AnyAddress).await, Ok(true), "{u}");
        }
        assert_eq!(
            vet("http://8.8.8.8/n", Targets::PublicOnly).await,
            Ok(false)
        );
        assert_eq!(
            vet("http://[64:ff9b::808:808]/n", Targets::PublicOnly).await,
            Ok(false)
        );
    }
}
