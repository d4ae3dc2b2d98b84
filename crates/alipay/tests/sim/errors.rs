//! What goes wrong: bad signatures either way, unknown apps, faults, an unreachable gateway.

use alipay::{Client, Config, Error, Fen, Order, SignatureFailure};
use channel_core::RsaPrivateKey;

use crate::helpers::{APP_ID, out, spawn};

#[tokio::test]
async fn request_signed_with_the_wrong_key_is_invalid_signature() {
    let app = spawn().await;
    let stranger = RsaPrivateKey::generate().unwrap().to_pkcs8_pem().unwrap();
    let client = app.client_with(&stranger, &app.alipay_public_pem);
    let err = client.query_order(&out("x")).await.unwrap_err();
    match &err {
        // The refusal itself is signed by the simulator and verified by the client.
        Error::Upstream {
            code,
            sub_code,
            sub_msg,
            ..
        } => {
            assert_eq!(code, "40002");
            assert_eq!(sub_code.as_deref(), Some("isv.invalid-signature"));
            // Alipay shows the text it verified; it must be the client's sign content.
            assert!(
                sub_msg
                    .as_deref()
                    .unwrap()
                    .contains("&method=alipay.trade.query&sign_type=RSA2&")
            );
        }
        other => panic!("expected 40002, got {other:?}"),
    }
    assert!(!err.is_outcome_unknown());
}

#[tokio::test]
async fn response_signed_by_someone_else_is_a_signature_error() {
    let app = spawn().await;
    let other_alipay = RsaPrivateKey::generate()
        .unwrap()
        .public_key()
        .unwrap()
        .to_pem();
    let client = app.client_with(&app.app_private_pem, &other_alipay);
    let err = client
        .precreate(&Order::new("sig", Fen(1), "x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Signature(SignatureFailure::BadSignature)),
        "{err:?}"
    );
    // The precreate may have happened: only a query can tell.
    assert!(err.is_outcome_unknown());
    assert!(app.client.query_order(&out("sig")).await.is_ok());
}

#[tokio::test]
async fn unknown_app_is_refused_unsigned() {
    let app = spawn().await;
    let key = RsaPrivateKey::generate().unwrap().to_pkcs8_pem().unwrap();
    let client = Client::new(
        Config::new("2021999999999999", key, app.alipay_public_pem.clone())
            .with_gateway_url(format!("{}/gateway.do", app.base_url())),
    )
    .unwrap();
    let err = client.query_order(&out("x")).await.unwrap_err();
    assert_eq!(err.upstream_code(), Some("isv.invalid-app-id"));
}

#[tokio::test]
async fn injected_server_errors_leave_the_outcome_unknown() {
    let app = spawn().await;
    let set = |rate: f64| {
        app.http
            .post(format!("{}/sim/faults", app.base_url()))
            .json(&serde_json::json!({ "api_error_rate": rate }))
            .send()
    };
    set(1.0).await.unwrap().error_for_status().unwrap();
    let err = app
        .client
        .precreate(&Order::new("f", Fen(1), "x"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Upstream { code, .. } if code == "20000"),
        "{err:?}"
    );
    assert!(err.is_outcome_unknown());
    set(0.0).await.unwrap().error_for_status().unwrap();
    assert!(
        app.client
            .precreate(&Order::new("f", Fen(1), "x"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn unreachable_gateway_is_a_transport_error() {
    let app = spawn().await;
    // A port that was free a moment ago and has nothing listening now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::new(
        Config::new(
            APP_ID,
            app.app_private_pem.clone(),
            app.alipay_public_pem.clone(),
        )
        .with_gateway_url(format!("http://127.0.0.1:{port}/gateway.do")),
    )
    .unwrap();
    let err = client.query_order(&out("x")).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(err.is_outcome_unknown());
}

#[tokio::test]
async fn alipay_key_is_stable_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let config = || sim::SimConfig {
        state_dir: Some(dir.path().to_owned()),
        time_scale: crate::helpers::TIME_SCALE,
        public_base_url: None,
    };
    let app = crate::helpers::spawn_with(config()).await;
    let no = "survives-restart";
    app.client
        .precreate(&Order::new(no, Fen(42), "x"))
        .await
        .unwrap();
    app.sim.shutdown().await.unwrap();

    let again = sim::start(config(), crate::helpers::local()).await.unwrap();
    let shown: serde_json::Value =
        reqwest::get(format!("{}/sim/alipay/apps/{APP_ID}", again.base_url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(
        shown["alipay_public_key_pem"],
        app.alipay_public_pem.as_str()
    );
    let client = Client::new(
        Config::new(
            APP_ID,
            app.app_private_pem.clone(),
            app.alipay_public_pem.clone(),
        )
        .with_gateway_url(format!("{}/gateway.do", again.base_url)),
    )
    .unwrap();
    assert_eq!(
        client.query_order(&out(no)).await.unwrap().total_amount,
        Fen(42)
    );
}
