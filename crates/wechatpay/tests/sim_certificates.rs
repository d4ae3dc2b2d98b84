//! Verification modes against the simulator: WeChat Pay public key, platform certificates given in
//! advance, and platform certificates downloaded (bootstrap) and refreshed.

mod common;

use common::{APIV3_KEY, Mode, TestSim, certificate_of, out, public_key_of};
use wechatpay::{Error, SignatureFailure, Verification};

const NOTIFY: &str = "https://shop.example.com/wechat/notify";

#[tokio::test]
async fn certificate_mode_downloads_its_first_certificate_on_demand() {
    let t = TestSim::start().await;
    let m = t.register(Mode::Certificate).await;
    let serial = m.registration["platform_serial_no"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(m.client.trusted_serials().is_empty());
    // The answer is signed by a certificate the client does not know yet: it downloads
    // /v3/certificates, checks that answer against the certificate inside it, then verifies.
    m.client
        .create_native_order(&m.order("cert_00001", 100, NOTIFY))
        .await
        .unwrap();
    assert_eq!(m.client.trusted_serials(), vec![serial.clone()]);
    assert_eq!(certificate_of(&m.registration).serial_no, serial);
}

#[tokio::test]
async fn explicit_refresh_returns_the_platform_certificate() {
    let t = TestSim::start().await;
    let m = t.register(Mode::Certificate).await;
    let certs = m.client.refresh_certificates().await.unwrap();
    assert_eq!(certs.len(), 1);
    let expected = certificate_of(&m.registration);
    assert_eq!(certs[0].serial_no, expected.serial_no);
    assert_eq!(certs[0].public_key, expected.public_key);
}

#[tokio::test]
async fn a_certificate_given_in_advance_needs_no_download() {
    let t = TestSim::start().await;
    let m = t.register(Mode::Certificate).await;
    let fixed = m.client_with(
        APIV3_KEY,
        Verification::fixed_certificates(vec![certificate_of(&m.registration)]),
    );
    fixed
        .create_native_order(&m.order("cert_00003", 100, NOTIFY))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_wrong_apiv3_key_cannot_decrypt_the_certificates() {
    let t = TestSim::start().await;
    let m = t.register(Mode::Certificate).await;
    let wrong = m.client_with(
        "0000000000000000WrongAPIv3Key000",
        Verification::downloaded_certificates(),
    );
    assert!(matches!(
        wrong.refresh_certificates().await,
        Err(Error::Decrypt)
    ));
    // Nothing became trusted, so answers stay unverifiable.
    let e = wrong
        .create_native_order(&m.order("cert_00004", 100, NOTIFY))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Signature(SignatureFailure::UnknownSerial(_))),
        "{e:?}"
    );
    assert!(
        e.is_outcome_unknown(),
        "the order was made; only its answer could not be trusted"
    );
}

#[tokio::test]
async fn public_key_merchants_have_no_certificates() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    let e = m.client.refresh_certificates().await.unwrap_err();
    assert!(
        matches!(&e, Error::Upstream { status: 404, code, .. } if code == "RESOURCE_NOT_EXISTS"),
        "{e:?}"
    );
}

#[tokio::test]
async fn the_serial_header_picks_the_key() {
    let t = TestSim::start().await;
    let pk_merchant = t.register(Mode::PublicKey).await;
    // Trusting only a certificate, a public-key-mode answer names a key we do not have.
    let cert_merchant = t.register(Mode::Certificate).await;
    let only_cert = pk_merchant.client_with(
        APIV3_KEY,
        Verification::fixed_certificates(vec![certificate_of(&cert_merchant.registration)]),
    );
    let e = only_cert
        .query_order(&out("serial_0001"))
        .await
        .unwrap_err();
    // The 404 is not verified; a 2xx would be. Make one.
    assert!(matches!(e, Error::Upstream { status: 404, .. }), "{e:?}");
    let e = only_cert
        .create_native_order(&pk_merchant.order("serial_0001", 1, NOTIFY))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Signature(SignatureFailure::UnknownSerial(ref s)) if s.starts_with("PUB_KEY_ID_")),
        "{e:?}"
    );
    // Both kinds configured (a merchant migrating): each answer finds its key.
    let both = Verification {
        public_key: Some(public_key_of(&pk_merchant.registration)),
        certificates: vec![certificate_of(&cert_merchant.registration)],
        download_certificates: false,
    };
    pk_merchant
        .client_with(APIV3_KEY, both)
        .query_order(&out("serial_0001"))
        .await
        .unwrap();
}
