//! The one HTTP client that talks to sites. A notify URL is the site's to choose, so paygate must not
//! become a way into its own network: only `http`/`https`; the host is resolved here and every
//! address checked (loopback, private, link-local — cloud metadata at 169.254.169.254 included —,
//! CGNAT, multicast, unspecified and reserved ranges, and IPv6 forms that embed them, are refused
//! unless the delivery may reach private targets); the connection then goes through a resolver that
//! applies the same check to what it resolves, so a name that changes its answer between check and
//! connect (DNS rebinding) gains nothing. No proxy, no redirects, one overall timeout, and at most
//! `excerpt_limit` bytes of the answer are read.
//!
//! Whether private targets may be reached is chosen per delivery ([`Targets`]): the operator allows
//! it per site. The resolver is part of the HTTP client, so two clients are built once, guarded and
//! permissive, and each delivery takes one of them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use super::NotifySettings;

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

/// Why an attempt did not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("refused: {0}")]
    Refused(#[from] TargetRefused),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("request failed: {0}")]
    Request(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Which addresses one delivery may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Targets {
    /// Public addresses only: every site's default.
    PublicOnly,
    /// Any address, private ones included: a site the operator allowed (or sandbox mode).
    AnyAddress,
}

/// One POST: its result, and whether the target was a non-public address (reached because the
/// delivery allowed it, or refused). What such a target answered, and where the name led, are the
/// operator's business, not the site's.
#[derive(Debug)]
pub struct Attempted {
    pub private_target: bool,
    pub result: Result<Response, DeliveryError>,
}

/// What the site answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// The first `excerpt_limit` bytes of the body, as (lossy) UTF-8.
    pub excerpt: String,
    /// From sending the request to the status line.
    pub latency: Duration,
}

impl Response {
    #[must_use]
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The client; cheap to clone, built once.
#[derive(Debug, Clone)]
pub struct NotifyClient {
    /// Its resolver refuses non-public addresses.
    guarded: reqwest::Client,
    /// Its resolver lets every address through.
    permissive: reqwest::Client,
    timeout: Duration,
    excerpt_limit: usize,
}

impl NotifyClient {
    /// # Errors
    /// `Client` when the TLS backend cannot be initialised.
    pub fn new(settings: &NotifySettings) -> Result<Self, DeliveryError> {
        Ok(Self {
            guarded: http_client(settings, false)?,
            permissive: http_client(settings, true)?,
            timeout: settings.timeout,
            excerpt_limit: settings.excerpt_limit,
        })
    }

    /// POSTs `body` to `url` with `headers`, after checking where `url` leads.
    ///
    /// The result's error is `Refused` before any connection; `Timeout`, `Connect`, `Request` from
    /// the attempt itself.
    pub async fn post(
        &self,
        url: &Url,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
        targets: Targets,
    ) -> Attempted {
        let vetted_private = match self.vet(url, targets).await {
            Ok(private) => private,
            Err(refused) => {
                return Attempted {
                    private_target: refused.is_private_address(),
                    result: Err(refused.into()),
                };
            }
        };
        let http = match targets {
            Targets::PublicOnly => &self.guarded,
            Targets::AnyAddress => &self.permissive,
        };
        let mut request = http.post(url.clone()).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let started = Instant::now();
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                let error = self.classify(&e);
                let private_target = vetted_private
                    || matches!(&error, DeliveryError::Refused(r) if r.is_private_address());
                return Attempted {
                    private_target,
                    result: Err(error),
                };
            }
        };
        let latency = started.elapsed();
        // The name may have changed its answer since it was vetted: judge the address actually
        // connected to as well (unknown counts as private).
        let private_target = vetted_private
            || response
                .remote_addr()
                .is_none_or(|a| refused_class(a.ip()).is_some());
        let status = response.status().as_u16();
        let mut excerpt = Vec::new();
        // The status is the verdict; the body is only kept as an excerpt, and a body that breaks
        // off or runs past the timeout does not change the verdict.
        while excerpt.len() < self.excerpt_limit {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = self.excerpt_limit - excerpt.len();
                    excerpt.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) | Err(_) => break,
            }
        }
        Attempted {
            private_target,
            result: Ok(Response {
                status,
                excerpt: String::from_utf8_lossy(&excerpt).into_owned(),
                latency,
            }),
        }
    }

    /// Refuses a URL that is not http(s), or whose host is (or resolves to) a non-public address
    /// when `targets` is `PublicOnly`. Otherwise tells whether any of its addresses is non-public.
    ///
    /// # Errors
    /// `Refused`.
    pub async fn vet(&self, url: &Url, targets: Targets) -> Result<bool, TargetRefused> {
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

    fn classify(&self, e: &reqwest::Error) -> DeliveryError {
        if let Some(refused) = find_source::<TargetRefused>(e) {
            return DeliveryError::Refused(refused.clone());
        }
        if e.is_timeout() {
            DeliveryError::Timeout(self.timeout)
        } else if e.is_connect() {
            DeliveryError::Connect(error_chain(e))
        } else {
            DeliveryError::Request(error_chain(e))
        }
    }
}

fn http_client(
    settings: &NotifySettings,
    allow_private: bool,
) -> Result<reqwest::Client, DeliveryError> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(VettingResolver { allow_private }))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .user_agent(concat!("paygate-notify/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| DeliveryError::Client(e.to_string()))
}

/// The resolver the client connects through: the system resolver, then the same address check as
/// [`NotifyClient::vet`], so the address connected to is always one that was checked.
struct VettingResolver {
    allow_private: bool,
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

/// Why `ip` may not be notified, or `None` for a public address.
#[must_use]
pub fn refused_class(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let class = if ip == Ipv4Addr::new(169, 254, 169, 254) {
        "cloud metadata"
    } else if a == 0 {
        "unspecified"
    } else if a == 127 {
        "loopback"
    } else if a == 10 || (a == 172 && (16..32).contains(&b)) || (a == 192 && b == 168) {
        "private"
    } else if a == 169 && b == 254 {
        "link-local"
    } else if a == 100 && (64..128).contains(&b) {
        "shared (CGNAT)"
    } else if (224..240).contains(&a) {
        "multicast"
    } else if a >= 240 {
        "reserved"
    } else if (a == 192 && b == 0 && c == 0) || (a == 198 && (b == 18 || b == 19)) {
        "special-purpose"
    } else if (a == 192 && b == 0 && c == 2)
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
    {
        "documentation"
    } else {
        return None;
    };
    Some(class)
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return refused_v4(v4);
    }
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    let class = if ip.is_unspecified() {
        "unspecified"
    } else if ip.is_loopback() {
        "loopback"
    } else if s[0] & 0xfe00 == 0xfc00 || s[0] & 0xffc0 == 0xfec0 {
        "private"
    } else if s[0] & 0xffc0 == 0xfe80 {
        "link-local"
    } else if s[0] & 0xff00 == 0xff00 {
        "multicast"
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        "documentation"
    } else if s[0] == 0x2001 && s[1] == 0 {
        // Teredo (`2001::/32`): a tunnel whose far end is an obfuscated IPv4 address (loopback or
        // private ones included); no site's notify URL needs it.
        "Teredo"
    } else if (s[0] == 0x2001 && s[1] == 2 && s[2] == 0) || s[..4] == [0x100, 0, 0, 0] {
        // Benchmarking (`2001:2::/48`) and discard-only (`100::/64`).
        "reserved"
    } else if s[..6] == [0, 0, 0, 0, 0, 0] {
        // IPv4-compatible (deprecated): judge the IPv4 address inside.
        return refused_v4(embedded(s[6], s[7])).or(Some("reserved"));
    } else if s[..6] == [0, 0, 0, 0, 0xffff, 0] {
        // IPv4-translated (`::ffff:0:a.b.c.d`, SIIT): a translator reaches the IPv4 address inside.
        // Not a public destination in its own right, whatever it embeds.
        return refused_v4(embedded(s[6], s[7])).or(Some("reserved"));
    } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // Well-known NAT64: the IPv4 address inside is what is reached.
        return refused_v4(embedded(s[6], s[7]));
    } else if s[..3] == [0x64, 0xff9b, 1] {
        // Local-use NAT64 (`64:ff9b:1::/48`): a translator on the operator's own network, which may
        // lead anywhere inside it.
        "local-use NAT64"
    } else if s[0] == 0x2002 {
        // 6to4: likewise.
        return refused_v4(embedded(s[1], s[2]));
    } else {
        return None;
    };
    Some(class)
}

fn find_source<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        current = err.source();
    }
    None
}

/// The error and its causes on one line (reqwest's own message alone says little).
fn error_chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(s: &str) -> Option<&'static str> {
        refused_class(s.parse().unwrap())
    }

    #[test]
    fn refuses_internal_addresses() {
        for (ip, class) in [
            ("127.0.0.1", "loopback"),
            ("127.8.9.10", "loopback"),
            ("10.0.0.1", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "cloud metadata"),
            ("169.254.1.1", "link-local"),
            ("100.64.0.1", "shared (CGNAT)"),
            ("100.127.255.255", "shared (CGNAT)"),
            ("0.0.0.0", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "reserved"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fc00::1", "private"),
            ("fd12:3456::1", "private"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "cloud metadata"),
            ("64:ff9b::a00:1", "private"),
            ("64:ff9b::10.1.2.3", "private"),
            ("64:ff9b::192.168.0.1", "private"),
            ("64:ff9b::127.0.0.1", "loopback"),
            ("64:ff9b::169.254.169.254", "cloud metadata"),
            ("2002:7f00:1::", "loopback"),
            // IPv4-translated: the embedded class when it has one, else refused all the same.
            ("::ffff:0:127.0.0.1", "loopback"),
            ("::ffff:0:10.0.0.1", "private"),
            ("::ffff:0:169.254.169.254", "cloud metadata"),
            ("::ffff:0:8.8.8.8", "reserved"),
            ("::ffff:0:0:0", "unspecified"),
            // Local-use NAT64: refused whatever follows the prefix.
            ("64:ff9b:1::a00:1", "local-use NAT64"),
            ("64:ff9b:1::808:808", "local-use NAT64"),
            ("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "local-use NAT64"),
            // Teredo, whatever it hides (here 127.0.0.1, XOR-obfuscated), and the other reserved
            // ranges.
            ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo"),
            ("2001:2::1", "reserved"),
            ("100::1", "reserved"),
        ] {
            assert_eq!(refused(ip), Some(class), "{ip}");
        }
    }

    #[test]
    fn allows_public_addresses() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "169.255.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            // Well-known NAT64 to a public IPv4 address, and the neighbours of the local-use prefix.
            "64:ff9b::808:808",
            "64:ff9b:2::1",
            // Next to Teredo and the benchmarking range: ordinary global unicast.
            "2001:4860:4860::8888",
            "2001:3::1",
        ] {
            assert_eq!(refused(ip), None, "{ip}");
        }
    }

    #[tokio::test]
    async fn vets_urls_before_connecting() {
        let client = NotifyClient::new(&NotifySettings::default()).unwrap();
        let vet = |u: &str, targets: Targets| {
            let client = client.clone();
            let url = Url::parse(u).unwrap();
            async move { client.vet(&url, targets).await }
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
