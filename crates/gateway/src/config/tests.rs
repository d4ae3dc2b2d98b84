use std::collections::HashMap;
use std::time::Duration;

use super::*;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn load(flags: Flags, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    Settings::load_with(flags, &env_of(env))
}

#[test]
fn defaults_are_sandbox_on_sqlite_in_data_dir() {
    let s = load(Flags::default(), &[]).unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(s.data_dir, PathBuf::from("./data"));
    assert_eq!(
        s.database_url.expose(),
        "sqlite://./data/paygate.db?mode=rwc"
    );
    assert_eq!(s.public_url(s.listen), "http://127.0.0.1:8080");
    assert_eq!(s.requested_mode(), Requested::Sandbox { explicit: false });
    assert!(matches!(s.master_key, MasterKeySource::File(ref p) if p.ends_with("master.key")));
}

#[test]
fn flags_beat_environment_which_beats_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paygate.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:1\"\ndata_dir = \"d\"\npublic_url = \"https://pay.example.com/\"\n",
    )
    .unwrap();
    let flags = Flags {
        config: Some(file.clone()),
        ..Flags::default()
    };
    let s = load(flags.clone(), &[]).unwrap();
    assert_eq!(s.listen.port(), 1);
    assert_eq!(s.data_dir, dir.path().join("d"), "relative to the file");
    assert_eq!(s.public_url(s.listen), "https://pay.example.com");
    let s = load(flags.clone(), &[("PAYGATE_LISTEN", "127.0.0.1:2")]).unwrap();
    assert_eq!(s.listen.port(), 2);
    let s = load(
        Flags {
            listen: Some("127.0.0.1:3".into()),
            database_url: Some("postgres://u:pw@h/db".into()),
            ..flags
        },
        &[("PAYGATE_LISTEN", "127.0.0.1:2")],
    )
    .unwrap();
    assert_eq!(s.listen.port(), 3);
    assert!(!s.database_url.is_sqlite());
    assert!(!format!("{s:?}").contains("pw"), "password in Debug");
    let s = load(
        Flags::default(),
        &[("PAYGATE_CONFIG", file.to_str().unwrap())],
    )
    .unwrap();
    assert_eq!(s.listen.port(), 1);
}

#[test]
fn errors_name_the_setting_and_its_origin() {
    let err = load(
        Flags {
            listen: Some("nope".into()),
            ..Flags::default()
        },
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("`listen`") && err.contains("--listen"),
        "{err}"
    );

    let err = load(
        Flags::default(),
        &[("PAYGATE_DATABASE_URL", "mysql://u:pw@h/db")],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("database_url") && err.contains("PAYGATE_DATABASE_URL"));
    assert!(!err.contains("pw"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(&file, "[wechat]\nmchidd = \"1\"\n").unwrap();
    let err = load(
        Flags {
            config: Some(file),
            ..Flags::default()
        },
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("wechat.mchidd"), "{err}");
}

#[test]
fn a_partial_channel_section_says_what_is_missing_without_echoing_secrets() {
    let err = load(
        Flags::default(),
        &[
            ("PAYGATE_WECHAT_MCHID", "1900000001"),
            ("PAYGATE_WECHAT_APPID", "wx1"),
            ("PAYGATE_WECHAT_MERCHANT_SERIAL", "ABC"),
        ],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("wechat.merchant_key_file")
            && err.contains("PAYGATE_WECHAT_MERCHANT_KEY_FILE"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let key = channel_core::RsaPrivateKey::generate().unwrap();
    let key_file = dir.path().join("key.pem");
    std::fs::write(&key_file, key.to_pkcs8_pem().unwrap()).unwrap();
    let pub_file = dir.path().join("pub.pem");
    std::fs::write(&pub_file, key.public_key().unwrap().to_pem()).unwrap();
    let base = [
        ("PAYGATE_WECHAT_MCHID", "1900000001"),
        ("PAYGATE_WECHAT_APPID", "wx1"),
        ("PAYGATE_WECHAT_MERCHANT_SERIAL", "ABC"),
        (
            "PAYGATE_WECHAT_MERCHANT_KEY_FILE",
            key_file.to_str().unwrap(),
        ),
        ("PAYGATE_WECHAT_PUBLIC_KEY_ID", "PUB_KEY_ID_0001"),
        ("PAYGATE_WECHAT_PUBLIC_KEY_FILE", pub_file.to_str().unwrap()),
        ("PAYGATE_WECHAT_API_BASE_URL", "http://127.0.0.1:9"),
        ("PAYGATE_PUBLIC_URL", "https://pay.example.com"),
    ];
    let mut env = base.to_vec();
    env.push(("PAYGATE_WECHAT_APIV3_KEY", "short-secret-x"));
    let err = load(Flags::default(), &env[..]).unwrap_err().to_string();
    assert!(err.contains("wechat.apiv3_key"), "{err}");
    assert!(!err.contains("short-secret-x"), "{err}");

    let mut env = base.to_vec();
    env.push((
        "PAYGATE_WECHAT_APIV3_KEY",
        "0123456789abcdef0123456789ABCDEF",
    ));
    let s = load(Flags::default(), &env[..]).unwrap();
    assert_eq!(s.requested_mode(), Requested::Live);
    let wechat = s.wechat.unwrap();
    assert_eq!(wechat.mchid, "1900000001");
    assert_eq!(wechat.client.base_url.as_str(), "http://127.0.0.1:9/");
    assert!(s.alipay.is_none());
}

#[test]
fn alipay_keys_are_parsed_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a key").unwrap();
    let err = load(
        Flags::default(),
        &[
            ("PAYGATE_ALIPAY_APP_ID", "2021000000000001"),
            ("PAYGATE_ALIPAY_APP_PRIVATE_KEY_FILE", bad.to_str().unwrap()),
            (
                "PAYGATE_ALIPAY_ALIPAY_PUBLIC_KEY_FILE",
                bad.to_str().unwrap(),
            ),
        ],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("alipay.app_private_key_file"), "{err}");
}

#[test]
fn alipay_needs_the_merchant_account_its_notifications_must_name() {
    let dir = tempfile::tempdir().unwrap();
    let app_key = dir.path().join("app.pem");
    let alipay_key = dir.path().join("alipay.pem");
    let private = channel_core::RsaPrivateKey::generate().unwrap();
    std::fs::write(&app_key, private.to_pkcs8_pem().unwrap()).unwrap();
    std::fs::write(&alipay_key, private.public_key().unwrap().to_pem()).unwrap();
    let env = |seller: Option<&'static str>| {
        let mut vars = vec![
            ("PAYGATE_ALIPAY_APP_ID", "2021000000000001".to_owned()),
            (
                "PAYGATE_ALIPAY_APP_PRIVATE_KEY_FILE",
                app_key.to_str().unwrap().to_owned(),
            ),
            (
                "PAYGATE_ALIPAY_ALIPAY_PUBLIC_KEY_FILE",
                alipay_key.to_str().unwrap().to_owned(),
            ),
            ("PAYGATE_PUBLIC_URL", "https://pay.example.com".to_owned()),
        ];
        if let Some(s) = seller {
            vars.push(("PAYGATE_ALIPAY_SELLER_ID", s.to_owned()));
        }
        vars
    };
    let run = |seller| {
        let vars = env(seller);
        let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        load(Flags::default(), &refs)
    };
    let missing = run(None).unwrap_err().to_string();
    assert!(missing.contains("alipay.seller_id"), "{missing}");
    let malformed = run(Some("2088x")).unwrap_err().to_string();
    assert!(malformed.contains("alipay.seller_id"), "{malformed}");
    let s = run(Some("2088621955000001")).unwrap();
    assert_eq!(
        s.alipay.unwrap().client.seller_id.as_deref(),
        Some("2088621955000001")
    );
}

#[test]
fn background_defaults_follow_the_issue_and_the_mode() {
    let s = load(Flags::default(), &[]).unwrap();
    assert_eq!(
        s.notify.schedule,
        crate::notify::NotifySettings::default_schedule()
    );
    assert_eq!(s.notify.timeout, Duration::from_secs(10));
    assert!(
        !s.notify.allow_private_targets,
        "only a sandbox database lets every site reach loopback, and the database decides"
    );
    assert_eq!(
        s.compensation,
        crate::compensation::CompensationSettings::default()
    );
    assert_eq!(s.workers.poll_interval, Duration::from_secs(1));
    assert_eq!(s.workers.lease, Duration::from_secs(60));
    assert_eq!(s.workers.batch, 16);
    assert!(!s.workers.node_id.is_empty());
}

#[test]
fn private_notify_targets_are_no_longer_a_global_setting() {
    // Allowed per site now (`paygate site update --allow-private-targets`): a file that still
    // allows them for every site is refused rather than silently ignored.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paygate.toml");
    std::fs::write(&file, "[notify]\nallow_private_targets = true\n").unwrap();
    let flags = Flags {
        config: Some(file),
        ..Flags::default()
    };
    let err = load(flags, &[]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::UnknownKey { key, .. } if key == "notify.allow_private_targets"),
        "{err}"
    );
}

#[test]
fn background_settings_from_file_and_environment_with_scales() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paygate.toml");
    std::fs::write(
        &file,
        "[notify]\nschedule = [\"1s\", \"2s\"]\ntimeout = \"5s\"\n\
         [compensation]\nschedule = [\"10s\", \"1m\"]\nexpiry_grace = \"1s\"\n\
         [workers]\nlease = \"30s\"\nbatch = 4\nnode_id = \"node-a\"\n",
    )
    .unwrap();
    let flags = Flags {
        config: Some(file),
        ..Flags::default()
    };
    let s = load(
        flags.clone(),
        &[
            ("PAYGATE_NOTIFY_SCHEDULE_SCALE", "0.001"),
            ("PAYGATE_COMPENSATION_SCHEDULE_SCALE", "0.5"),
            ("PAYGATE_WORKERS_POLL_INTERVAL", "50ms"),
        ],
    )
    .unwrap();
    assert_eq!(
        s.notify.schedule,
        [Duration::from_millis(1), Duration::from_millis(2)]
    );
    assert_eq!(s.notify.timeout, Duration::from_secs(5));
    assert_eq!(
        s.compensation.schedule,
        [Duration::from_secs(5), Duration::from_secs(30)]
    );
    assert_eq!(s.compensation.expiry_grace, Duration::from_secs(1));
    assert_eq!(s.workers.poll_interval, Duration::from_millis(50));
    assert_eq!(s.workers.lease, Duration::from_secs(30));
    assert_eq!(s.workers.batch, 4);
    assert_eq!(s.workers.node_id, "node-a");

    let s = load(flags, &[("PAYGATE_NOTIFY_SCHEDULE", "15s, 3m,6h")]).unwrap();
    assert_eq!(
        s.notify.schedule,
        [
            Duration::from_secs(15),
            Duration::from_secs(180),
            Duration::from_secs(6 * 3600)
        ]
    );
}

#[test]
fn bad_background_settings_name_themselves() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("PAYGATE_NOTIFY_SCHEDULE", ",")], "notify.schedule"),
        (
            &[("PAYGATE_NOTIFY_SCHEDULE", "15s,soon")],
            "notify.schedule",
        ),
        (
            &[("PAYGATE_NOTIFY_SCHEDULE_SCALE", "0")],
            "notify.schedule_scale",
        ),
        (
            &[("PAYGATE_NOTIFY_SCHEDULE_SCALE", "x")],
            "notify.schedule_scale",
        ),
        (&[("PAYGATE_NOTIFY_TIMEOUT", "10")], "notify.timeout"),
        (
            &[("PAYGATE_COMPENSATION_SCHEDULE", ",")],
            "compensation.schedule",
        ),
        (
            &[("PAYGATE_COMPENSATION_SCHEDULE", "1m,0s")],
            "compensation.schedule",
        ),
        (
            &[("PAYGATE_COMPENSATION_SCHEDULE_SCALE", "-1")],
            "compensation.schedule_scale",
        ),
        (
            &[("PAYGATE_WORKERS_POLL_INTERVAL", "0ms")],
            "workers.poll_interval",
        ),
        (&[("PAYGATE_WORKERS_LEASE", "5s")], "workers.lease"),
        (
            &[
                ("PAYGATE_NOTIFY_TIMEOUT", "2m"),
                ("PAYGATE_WORKERS_LEASE", "1m"),
            ],
            "workers.lease",
        ),
        (&[("PAYGATE_WORKERS_BATCH", "0")], "workers.batch"),
    ];
    for (env, setting) in cases {
        let err = load(Flags::default(), env).unwrap_err().to_string();
        assert!(err.contains(setting), "{env:?}: {err}");
        assert!(err.contains("PAYGATE_"), "names the origin: {err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(&file, "[workers]\nleases = \"1m\"\n").unwrap();
    let err = load(
        Flags {
            config: Some(file),
            ..Flags::default()
        },
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("workers.leases"), "{err}");
}

/// A WeChat Pay merchant configured through the environment, with keys written to `dir`.
fn wechat_env(dir: &Path) -> Vec<(&'static str, String)> {
    let key = channel_core::RsaPrivateKey::generate().unwrap();
    let key_file = dir.join("key.pem");
    std::fs::write(&key_file, key.to_pkcs8_pem().unwrap()).unwrap();
    let pub_file = dir.join("pub.pem");
    std::fs::write(&pub_file, key.public_key().unwrap().to_pem()).unwrap();
    vec![
        ("PAYGATE_WECHAT_MCHID", "1900000001".to_owned()),
        ("PAYGATE_WECHAT_APPID", "wx1".to_owned()),
        ("PAYGATE_WECHAT_MERCHANT_SERIAL", "ABC".to_owned()),
        (
            "PAYGATE_WECHAT_MERCHANT_KEY_FILE",
            key_file.display().to_string(),
        ),
        ("PAYGATE_WECHAT_PUBLIC_KEY_ID", "PUB_KEY_ID_0001".to_owned()),
        (
            "PAYGATE_WECHAT_PUBLIC_KEY_FILE",
            pub_file.display().to_string(),
        ),
        (
            "PAYGATE_WECHAT_APIV3_KEY",
            "0123456789abcdef0123456789ABCDEF".to_owned(),
        ),
    ]
}

fn load_owned(flags: Flags, env: &[(&'static str, String)]) -> Result<Settings, ConfigError> {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    load(flags, &pairs)
}

#[test]
fn sandbox_is_asked_for_by_flag_variable_or_file() {
    let by_flag = Flags {
        sandbox: true,
        ..Flags::default()
    };
    let explicit = Requested::Sandbox { explicit: true };
    assert_eq!(load(by_flag, &[]).unwrap().requested_mode(), explicit);
    let by_env = load(Flags::default(), &[("PAYGATE_SANDBOX", "true")]).unwrap();
    assert_eq!(by_env.requested_mode(), explicit);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paygate.toml");
    std::fs::write(&file, "sandbox = true\n").unwrap();
    let by_file = Flags {
        config: Some(file),
        ..Flags::default()
    };
    assert_eq!(load(by_file, &[]).unwrap().requested_mode(), explicit);
}

#[test]
fn sandbox_and_channel_credentials_exclude_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = wechat_env(dir.path());
    env.push(("PAYGATE_PUBLIC_URL", "https://pay.example.com".to_owned()));
    let flags = Flags {
        sandbox: true,
        ..Flags::default()
    };
    let err = load_owned(flags, &env).unwrap_err().to_string();
    assert!(
        err.contains("`sandbox`") && err.contains("--sandbox"),
        "{err}"
    );
    assert!(err.contains("never meets a real channel"), "{err}");
}

#[test]
fn live_mode_needs_an_https_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let env = wechat_env(dir.path());
    let err = load_owned(Flags::default(), &env).unwrap_err().to_string();
    assert!(
        err.contains("public_url") && err.contains("live mode"),
        "{err}"
    );

    let mut http = env.clone();
    http.push(("PAYGATE_PUBLIC_URL", "http://pay.example.com".to_owned()));
    let err = load_owned(Flags::default(), &http).unwrap_err().to_string();
    assert!(err.contains("must be https in live mode"), "{err}");
    assert!(err.contains("allow_http_public_url"), "{err}");

    let mut behind_proxy = http.clone();
    behind_proxy.push(("PAYGATE_ALLOW_HTTP_PUBLIC_URL", "true".to_owned()));
    let s = load_owned(Flags::default(), &behind_proxy).unwrap();
    assert_eq!(s.requested_mode(), Requested::Live);

    let mut https = env;
    https.push(("PAYGATE_PUBLIC_URL", "https://pay.example.com".to_owned()));
    assert!(load_owned(Flags::default(), &https).is_ok());
}

#[test]
fn sandbox_mode_may_keep_an_http_public_url() {
    let s = load(
        Flags::default(),
        &[("PAYGATE_PUBLIC_URL", "http://10.0.0.5:8080")],
    )
    .unwrap();
    assert_eq!(s.public_url(s.listen), "http://10.0.0.5:8080");
}

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
