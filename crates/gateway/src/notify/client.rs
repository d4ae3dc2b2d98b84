//! The one HTTP client that talks to sites. A notify URL is the site's to choose, so paygate must not
//! become a way into its own network: only `http`/`https`; the host is resolved here and every
//! address checked (loopback, private, link-local — cloud metadata at 169.254.169.254 included —,
//! CGNAT, multicast, unspecified and reserved ranges are refused unless the operator allows private
//! targets); the connection then goes through a resolver that applies the same check to what it
//! resolves, so a name that changes its answer between check and connect (DNS rebinding) gains
//! nothing. No proxy, no redirects, one overall timeout, and at most `excerpt_limit` bytes of the
//! answer are read.

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
    http: reqwest::Client,
    allow_private: bool,
    timeout: Duration,
    excerpt_limit: usize,
}

impl NotifyClient {
    /// # Errors
    /// `Client` when the TLS backend cannot be initialised.
    pub fn new(settings: &NotifySettings) -> Result<Self, DeliveryError> {
        let http = reqwest::Client::builder()
            .dns_resolver(Arc::new(VettingResolver {
                allow_private: settings.allow_private_targets,
            }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(concat!("paygate-notify/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DeliveryError::Client(e.to_string()))?;
        Ok(Self {
            http,
            allow_private: settings.allow_private_targets,
            timeout: settings.timeout,
            excerpt_limit: settings.excerpt_limit,
        })
    }

    /// POSTs `body` to `url` with `headers`, after checking where `url` leads.
    ///
    /// # Errors
    /// `Refused` before any connection; `Timeout`, `Connect`, `Request` from the attempt itself.
    pub async fn post(
        &self,
        url: &Url,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
    ) -> Result<Response, DeliveryError> {
        self.vet(url).await?;
        let mut request = self.http.post(url.clone()).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let started = Instant::now();
        let mut response = request.send().await.map_err(|e| self.classify(&e))?;
        let latency = started.elapsed();
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
        Ok(Response {
            status,
            excerpt: String::from_utf8_lossy(&excerpt).into_owned(),
            latency,
        })
    }

    /// Refuses a URL that is not http(s) or whose host is (or resolves to) a refused address.
    ///
    /// # Errors
    /// `Refused`.
    pub async fn vet(&self, url: &Url) -> Result<(), TargetRefused> {
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
        if self.allow_private {
            return Ok(());
        }
        // One refused address refuses the name: a public name has no business pointing inside.
        for ip in addrs {
            if let Some(class) = refused_class(ip) {
                return Err(TargetRefused::Address {
                    host: host.to_string(),
                    ip,
                    class,
                });
            }
        }
        Ok(())
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
    } else if s[..6] == [0, 0, 0, 0, 0, 0] {
        // IPv4-compatible (deprecated): judge the IPv4 address inside.
        return refused_v4(embedded(s[6], s[7])).or(Some("reserved"));
    } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64: the IPv4 address inside is what is reached.
        return refused_v4(embedded(s[6], s[7]));
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
            ("2002:7f00:1::", "loopback"),
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
        ] {
            assert_eq!(refused(ip), None, "{ip}");
        }
    }

    #[tokio::test]
    async fn vets_urls_before_connecting() {
        let client = NotifyClient::new(&NotifySettings::default()).unwrap();
        let vet = |u: &str| {
            let client = client.clone();
            let url = Url::parse(u).unwrap();
            async move { client.vet(&url).await }
        };
        assert!(matches!(
            vet("ftp://example.com/").await,
            Err(TargetRefused::Scheme(_))
        ));
        for u in [
            "http://127.0.0.1:9/n",
            "http://10.0.0.1/n",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:9/n",
            "http://2130706433/n",
            "http://localhost:9/n",
        ] {
            assert!(
                matches!(vet(u).await, Err(TargetRefused::Address { .. })),
                "{u}"
            );
        }
        let open = NotifyClient::new(&NotifySettings {
            allow_private_targets: true,
            ..NotifySettings::default()
        })
        .unwrap();
        assert!(
            open.vet(&Url::parse("http://127.0.0.1:9/").unwrap())
                .await
                .is_ok()
        );
    }
}
