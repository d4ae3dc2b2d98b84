//! Sandbox or live: how sandbox is asked for, that it excludes channel credentials, and the
//! public URL each mode needs.

use super::super::*;
use super::{load, load_owned, wechat_env};

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
