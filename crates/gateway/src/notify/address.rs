//! Which IP addresses are not public: loopback, private, link-local (cloud metadata at
//! 169.254.169.254 included), CGNAT, multicast, unspecified, documentation and reserved ranges,
//! and the IPv6 forms that embed or lead to them. A notification reaches none of them unless the
//! delivery may reach private targets.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why `ip` may not be notified, or `None` for a public address.
#[must_use]
pub(super) fn refused_class(ip: IpAddr) -> Option<&'static str> {
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
}
