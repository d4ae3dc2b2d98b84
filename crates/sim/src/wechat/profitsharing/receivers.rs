//! `POST /v3/profitsharing/receivers/add` and `/delete`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::{Extension, Json};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Sharer;
use super::model::{Receiver, receiver_key};
use crate::wechat::Sim;
use crate::wechat::auth::Caller;
use crate::wechat::error::{ApiError, ApiResult, internal};
use crate::wechat::scope::check_appid;
use crate::wechat::validate;

const RELATIONS: &[&str] = &[
    "SERVICE_PROVIDER",
    "STORE",
    "STAFF",
    "STORE_OWNER",
    "PARTNER",
    "HEADQUARTER",
    "BRAND",
    "DISTRIBUTOR",
    "USER",
    "SUPPLIER",
    "CUSTOM",
];

#[derive(Debug, Deserialize)]
pub struct ReceiverBody {
    sub_mchid: Option<String>,
    sub_appid: Option<String>,
    appid: Option<String>,
    #[serde(rename = "type")]
    receiver_type: Option<String>,
    account: Option<String>,
    name: Option<String>,
    relation_type: Option<String>,
    custom_relation: Option<String>,
}

/// A receiver's type: a merchant or a person under the (service provider's) appid, or, for a
/// service provider's sub-merchant, a person under the sub-merchant's appid.
pub fn receiver_type(value: Option<&String>, partner: bool) -> ApiResult<&str> {
    match validate::required(value, "type")? {
        t @ ("MERCHANT_ID" | "PERSONAL_OPENID") => Ok(t),
        t @ "PERSONAL_SUB_OPENID" if partner => Ok(t),
        _ => Err(ApiError::param("字段“type”取值错误")),
    }
}

/// An encrypted field: it names, in `Wechatpay-Serial`, the key it was encrypted for, and is one
/// RSA-2048 block.
pub fn check_encrypted(
    sim: &Sim,
    caller: &Caller,
    headers: &HeaderMap,
    field: &str,
    value: &str,
) -> ApiResult<()> {
    let expected = sim.keys(&caller.mchid).map(|k| k.serial_header.clone());
    let named = headers
        .get("Wechatpay-Serial")
        .and_then(|v| v.to_str().ok());
    if expected.is_none() || named != expected.as_deref() {
        return Err(ApiError::param(
            "Wechatpay-Serial 与加密敏感信息的平台公钥不匹配",
        ));
    }
    match STANDARD.decode(value) {
        Ok(bytes) if bytes.len() == 256 => Ok(()),
        _ => Err(ApiError::param(format!("字段“{field}”解密失败"))),
    }
}

pub async fn add(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    let b: ReceiverBody = validate::json(&raw)?;
    let appid = validate::required(b.appid.as_ref(), "appid")?;
    check_appid(&sim, &caller.mchid, appid)?;
    let sharer = Sharer::of(&sim, &caller, b.sub_mchid.as_ref(), b.sub_appid.as_ref())?;
    let receiver_type = receiver_type(b.receiver_type.as_ref(), sharer.sub_mchid.is_some())?;
    let account = validate::required(b.account.as_ref(), "account")?;
    let relation = validate::required(b.relation_type.as_ref(), "relation_type")?;
    if !RELATIONS.contains(&relation) {
        return Err(ApiError::param("字段“relation_type”取值错误"));
    }
    if relation == "CUSTOM" {
        validate::required(b.custom_relation.as_ref(), "custom_relation")?;
    }
    match &b.name {
        Some(name) => check_encrypted(&sim, &caller, &headers, "name", name)?,
        None if receiver_type == "MERCHANT_ID" => {
            return Err(ApiError::param(
                "分账接收方类型为MERCHANT_ID时，name为必填项",
            ));
        }
        None => {}
    }
    let receiver = Receiver {
        receiver_type: receiver_type.to_owned(),
        account: account.to_owned(),
        relation_type: relation.to_owned(),
        custom_relation: b.custom_relation.clone(),
        name: b.name.clone(),
    };
    let key = receiver_key(&sharer.owner(), receiver_type, account);
    sim.store
        .update(|s| {
            s.sharing_receivers.insert(key, receiver);
        })
        .await
        .map_err(internal)?;
    let mut answer = json!({"type": receiver_type, "account": account, "relation_type": relation});
    if let Some(sub) = &sharer.sub_mchid {
        answer["sub_mchid"] = json!(sub);
    }
    if let Some(c) = &b.custom_relation {
        answer["custom_relation"] = json!(c);
    }
    if let Some(n) = &b.name {
        answer["name"] = json!(n);
    }
    Ok(Json(answer))
}

pub async fn delete(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    let b: ReceiverBody = validate::json(&raw)?;
    let appid = validate::required(b.appid.as_ref(), "appid")?;
    check_appid(&sim, &caller.mchid, appid)?;
    let sharer = Sharer::of(&sim, &caller, b.sub_mchid.as_ref(), b.sub_appid.as_ref())?;
    let receiver_type = receiver_type(b.receiver_type.as_ref(), sharer.sub_mchid.is_some())?;
    let account = validate::required(b.account.as_ref(), "account")?;
    let key = receiver_key(&sharer.owner(), receiver_type, account);
    sim.store
        .update(|s| {
            s.sharing_receivers.remove(&key);
        })
        .await
        .map_err(internal)?;
    let mut answer = json!({"type": receiver_type, "account": account});
    if let Some(sub) = &sharer.sub_mchid {
        answer["sub_mchid"] = json!(sub);
    }
    Ok(Json(answer))
}
