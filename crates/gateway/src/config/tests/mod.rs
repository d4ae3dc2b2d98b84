//! The settings loader, one file per concern; here the helpers they share: an environment from
//! pairs, and a WeChat Pay merchant configured through it.

use std::collections::HashMap;

use super::*;

mod background;
mod channels;
mod http;
mod layers;
mod mode;

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
