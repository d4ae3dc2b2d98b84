//! The HTTP server and metrics listener: defaults, file and environment, errors that never echo
//! the metrics token, and trusted proxies.

use std::time::Duration;

use super::super::*;
use super::load;

#[test]
fn http_and_metrics_defaults_keep_metrics_on_loopback_and_limit_unsigned_routes() {
    let s = load(Flags::default(), &[]).unwrap();
    assert_eq!(s.http, crate::api::HttpSettings::default());
    assert_eq!(s.http.header_read_timeout, Duration::from_secs(10));
    assert_eq!(s.http.body_read_timeout, Duration::from_secs(10));
    assert_eq!(
        s.http.rate_limit,
        Some(crate::api::RateLimit {
            per_second: 100,
            burst: 200
        })
    );
    assert_eq!(s.metrics.listen, Some("127.0.0.1:9464".parse().unwrap()));
    assert!(s.metrics.token.is_none());
}

#[test]
fn http_and_metrics_settings_from_file_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paygate.toml");
    std::fs::write(
        &file,
        "[http]\nheader_read_timeout = \"5s\"\nbody_read_timeout = \"20s\"\nrate_limit = 7\n\
         rate_limit_burst = 9\n[metrics]\nlisten = \"0.0.0.0:9100\"\n\
         token = \"a-long-scrape-token-0123\"\n",
    )
    .unwrap();
    let flags = Flags {
        config: Some(file),
        ..Flags::default()
    };
    let s = load(flags.clone(), &[]).unwrap();
    assert_eq!(s.http.header_read_timeout, Duration::from_secs(5));
    assert_eq!(s.http.body_read_timeout, Duration::from_secs(20));
    assert_eq!(
        s.http.rate_limit,
        Some(crate::api::RateLimit {
            per_second: 7,
            burst: 9
        })
    );
    assert_eq!(s.metrics.listen, Some("0.0.0.0:9100".parse().unwrap()));
    assert_eq!(
        s.metrics.token,
        Some(crate::api::MetricsToken::parse("a-long-scrape-token-0123").unwrap())
    );
    assert!(!format!("{s:?}").contains("scrape-token"), "token in Debug");

    let s = load(
        flags,
        &[
            ("PAYGATE_HTTP_RATE_LIMIT", "0"),
            ("PAYGATE_METRICS_LISTEN", "off"),
        ],
    )
    .unwrap();
    assert_eq!(s.http.rate_limit, None, "0 turns the limit off");
    assert_eq!(s.metrics.listen, None);
}

#[test]
fn bad_http_and_metrics_settings_name_themselves_without_echoing_the_token() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("PAYGATE_HTTP_HEADER_READ_TIMEOUT", "0s")],
            "http.header_read_timeout",
        ),
        (
            &[("PAYGATE_HTTP_BODY_READ_TIMEOUT", "10")],
            "http.body_read_timeout",
        ),
        (&[("PAYGATE_HTTP_RATE_LIMIT", "-1")], "http.rate_limit"),
        (
            &[("PAYGATE_HTTP_RATE_LIMIT_BURST", "0")],
            "http.rate_limit_burst",
        ),
        (&[("PAYGATE_METRICS_LISTEN", "9464")], "metrics.listen"),
        (
            &[("PAYGATE_METRICS_TOKEN", "short-secret")],
            "metrics.token",
        ),
        (
            &[("PAYGATE_METRICS_TOKEN", "a long token with spaces")],
            "metrics.token",
        ),
    ];
    for (env, setting) in cases {
        let err = load(Flags::default(), env).unwrap_err().to_string();
        assert!(err.contains(setting), "{env:?}: {err}");
        assert!(err.contains("PAYGATE_"), "names the origin: {err}");
        assert!(
            !err.contains("short-secret") && !err.contains("with spaces"),
            "{err}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(&file, "[metrics]\nlisten_on = \"127.0.0.1:1\"\n").unwrap();
    let err = load(
        Flags {
            config: Some(file),
            ..Flags::default()
        },
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("metrics.listen_on"), "{err}");
}

#[test]
fn trusted_proxies_are_addresses_or_networks() {
    let s = load(
        Flags::default(),
        &[("PAYGATE_HTTP_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,::1")],
    )
    .unwrap();
    let expected: Vec<ipnet::IpNet> = ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
        .iter()
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(
        s.http.trusted_proxies,
        crate::api::TrustedProxies::new(expected)
    );
    assert_eq!(
        load(Flags::default(), &[]).unwrap().http.trusted_proxies,
        crate::api::TrustedProxies::default(),
        "nobody's X-Forwarded-For is believed by default"
    );
    let err = load(
        Flags::default(),
        &[("PAYGATE_HTTP_TRUSTED_PROXIES", "10.0.0.0/33")],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("http.trusted_proxies"), "{err}");
}
