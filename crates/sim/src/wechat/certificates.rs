//! `GET /v3/certificates`: the platform certificate, AEAD-encrypted with the merchant's APIv3 key
//! (`associated_data: "certificate"`). Merchants in public-key mode have no platform certificate
//! and get `RESOURCE_NOT_EXISTS`, as on WeChat Pay.

use axum::extract::State;
use axum::{Extension, Json};
use serde_json::{Value, json};

use super::Sim;
use super::auth::Caller;
use super::crypto::{aead_encrypt, china_time_unix};
use super::error::{ApiError, ApiResult, internal};
use super::state::Mode;

pub async fn list(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Value>> {
    let merchant = sim
        .store
        .read(|s| s.merchants.get(&caller.mchid).cloned())
        .ok_or_else(ApiError::mch_not_exists)?;
    if merchant.mode == Mode::PublicKey {
        return Err(ApiError::resource_not_exists(
            "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥",
        ));
    }
    let p = &merchant.platform;
    let nonce = channel_core::nonce::alphanumeric(12);
    let ciphertext = aead_encrypt(
        &merchant.apiv3_key,
        &nonce,
        "certificate",
        p.certificate_pem.as_bytes(),
    )
    .map_err(internal)?;
    Ok(Json(json!({
        "data": [{
            "serial_no": p.serial_no,
            "effective_time": china_time_unix(p.not_before),
            "expire_time": china_time_unix(p.not_after),
            "encrypt_certificate": {
                "algorithm": "AEAD_AES_256_GCM",
                "associated_data": "certificate",
                "nonce": nonce,
                "ciphertext": ciphertext,
            }
        }]
    })))
}
