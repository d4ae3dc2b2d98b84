use std::collections::HashMap;

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
    assert!(s.sandbox());
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
    assert!(!s.sandbox());
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
