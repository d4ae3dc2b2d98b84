//! Channel sections (WeChat Pay, Alipay): what a partial one says is missing, keys parsed at
//! start, and the Alipay account its notifications must name.

use super::super::*;
use super::load;

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
    let alipay = s.alipay.unwrap();
    assert_eq!(alipay.client.seller_id.as_deref(), Some("2088621955000001"));
    assert!(
        alipay.fee_receiver.is_none(),
        "no fee by royalty unless named"
    );

    // Named, the operator's own account receives its fee on merchants' orders by royalty.
    let named = |name: &str| {
        let mut vars = env(Some("2088621955000001"));
        vars.push(("PAYGATE_ALIPAY_SELLER_NAME", name.to_owned()));
        let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        load(Flags::default(), &refs)
    };
    let (account, name) = named("某某科技有限公司")
        .unwrap()
        .alipay
        .unwrap()
        .fee_receiver
        .unwrap();
    assert_eq!(
        (account.as_str(), name.as_str()),
        ("2088621955000001", "某某科技有限公司")
    );
    let err = named("a\u{7}b").unwrap_err().to_string();
    assert!(err.contains("alipay.seller_name"), "{err}");
}

#[test]
fn a_service_provider_needs_its_number_and_official_account_and_signs_with_the_merchants_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut base = super::wechat_env(dir.path());
    base.push(("PAYGATE_PUBLIC_URL", "https://pay.example.com".to_owned()));
    let with = |extra: &[(&'static str, &str)]| {
        let mut env = base.clone();
        env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        super::load_owned(Flags::default(), &env)
    };
    let direct = with(&[]).unwrap().wechat.unwrap();
    assert!(direct.service_provider.is_none());

    let err = with(&[("PAYGATE_WECHAT_SP_MCHID", "1900000100")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("wechat.sp_appid") && err.contains("PAYGATE_WECHAT_SP_APPID"),
        "{err}"
    );
    let err = with(&[("PAYGATE_WECHAT_SP_APPID", "wxsp")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("wechat.sp_mchid"), "{err}");
    let err = with(&[
        ("PAYGATE_WECHAT_SP_MCHID", "19000001OO"),
        ("PAYGATE_WECHAT_SP_APPID", "wxsp"),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("wechat.sp_mchid") && err.contains("digits"),
        "{err}"
    );

    // Its own number: a client of its own, signing as the service provider.
    let other = with(&[
        ("PAYGATE_WECHAT_SP_MCHID", "1900000100"),
        ("PAYGATE_WECHAT_SP_APPID", "wxsp"),
    ])
    .unwrap()
    .wechat
    .unwrap()
    .service_provider
    .unwrap();
    assert_eq!(
        (other.sp_mchid.as_str(), other.sp_appid.as_str()),
        ("1900000100", "wxsp")
    );
    assert_eq!(other.client.unwrap().mchid, "1900000100");
    // The merchant's own number: one number, one client.
    let same = with(&[
        ("PAYGATE_WECHAT_SP_MCHID", "1900000001"),
        ("PAYGATE_WECHAT_SP_APPID", "wxsp"),
    ])
    .unwrap()
    .wechat
    .unwrap()
    .service_provider
    .unwrap();
    assert!(same.client.is_none());
    assert!(
        same.sp_name.is_none(),
        "no fee by profit sharing unless named"
    );

    // Named, the service provider receives the operator's fee on sub-merchants' orders.
    let named = with(&[
        ("PAYGATE_WECHAT_SP_MCHID", "1900000100"),
        ("PAYGATE_WECHAT_SP_APPID", "wxsp"),
        ("PAYGATE_WECHAT_SP_NAME", "某某科技有限公司"),
    ])
    .unwrap()
    .wechat
    .unwrap()
    .service_provider
    .unwrap();
    assert_eq!(named.sp_name.unwrap().as_str(), "某某科技有限公司");
    let err = with(&[
        ("PAYGATE_WECHAT_SP_MCHID", "1900000100"),
        ("PAYGATE_WECHAT_SP_APPID", "wxsp"),
        ("PAYGATE_WECHAT_SP_NAME", "a\u{7}b"),
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("wechat.sp_name"), "{err}");
}
