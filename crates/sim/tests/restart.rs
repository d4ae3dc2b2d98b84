//! State survives a restart with the same state dir.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use sim::SimConfig;
use support::*;

#[tokio::test]
async fn merchants_keys_and_orders_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || SimConfig {
        state_dir: Some(dir.path().to_owned()),
        time_scale: 0.001,
        ..SimConfig::default()
    };
    let t = TestSim::start_with(config()).await;
    let key = channel_core::RsaPrivateKey::generate().unwrap();
    let key_pem = key.to_pkcs8_pem().unwrap();
    let m = t.register_with_key("1900000301", "public_key", key).await;
    let n = no("persist");
    assert_eq!(
        t.native_order(&m, &n, 321, "https://m.example.com/n")
            .await
            .status,
        200
    );
    t.pay(&m, &n).await;
    t.sim.shutdown().await.unwrap();

    let t = TestSim::start_with(config()).await;
    let q = t.query_order(&m, &n).await;
    assert_eq!(q.status, 200, "{:?}", q.json());
    // Same platform key as before the restart.
    assert_eq!(
        verify_signed(&q.headers, &q.bytes, &m.platform_public),
        m.public_key_id
    );
    assert_eq!(q.json()["trade_state"], "SUCCESS");
    assert_eq!(q.json()["amount"]["total"], 321);
    // Registering again keeps the platform key.
    let again = t
        .register_with_key(
            "1900000301",
            "public_key",
            channel_core::RsaPrivateKey::from_pem(&key_pem).unwrap(),
        )
        .await;
    assert_eq!(again.public_key_id, m.public_key_id);
    assert_eq!(again.platform_serial_no, m.platform_serial_no);
    t.sim.shutdown().await.unwrap();
}
