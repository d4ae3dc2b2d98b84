//! `/gateway.do`: parameter merging, the checks Alipay makes before any business rule (app,
//! signature, common parameters), API faults, dispatch, and the signed answer.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Map, Value};

use super::state::{Merchant, owner};
use super::wire::{Obj, Refusal, envelope, response_key, sign_text};
use super::{AppKeys, Sim, app_auth, cashier, trade};
use crate::faults::{ApiFault, check_api};

/// A verified call: who (the app, and the merchant it calls for with an `app_auth_token`), what,
/// and the decoded `biz_content`.
pub(crate) struct Call {
    pub app_id: String,
    pub merchant: Option<Merchant>,
    pub method: String,
    pub params: Vec<(String, String)>,
    pub biz: Map<String, Value>,
}

impl Call {
    /// The account of the merchant the call is for, if the app calls for one.
    pub fn merchant_id(&self) -> Option<&str> {
        self.merchant.as_ref().map(|m| m.user_id.as_str())
    }

    /// Whose royalty receivers the call sees (see [`owner`]).
    pub fn owner(&self) -> String {
        owner(&self.app_id, self.merchant.as_ref())
    }

    pub fn param(&self, k: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// Methods the buyer's browser or app brings to the gateway: a cashier page, not JSON.
const PAGE_METHODS: [&str; 3] = [
    "alipay.trade.wap.pay",
    "alipay.trade.page.pay",
    "alipay.trade.app.pay",
];

pub(crate) async fn handle(
    State(sim): State<Sim>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let params = match merge(query.as_deref().unwrap_or(""), &body) {
        Ok(p) => p,
        Err(r) => return json(&envelope("error_response", &r.to_obj(), None)),
    };
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let Some(method) = get("method") else {
        let r = Refusal {
            code: "40001",
            msg: "Missing Required Arguments",
            sub_code: "isv.missing-method",
            sub_msg: "缺少方法名参数".into(),
        };
        return json(&envelope("error_response", &r.to_obj(), None));
    };
    let key = response_key(&method);
    let Some(app_id) = get("app_id") else {
        let r = Refusal {
            code: "40001",
            msg: "Missing Required Arguments",
            sub_code: "isv.missing-app-id",
            sub_msg: "缺少AppID参数".into(),
        };
        return json(&envelope(&key, &r.to_obj(), None));
    };
    // Without a registered app there is no key to sign the refusal with; Alipay's SDKs accept an
    // unsigned error.
    let Some(keys) = sim.keys(&app_id) else {
        return json(&envelope(
            &key,
            &Refusal::invalid("isv.invalid-app-id", "无效的AppID参数").to_obj(),
            None,
        ));
    };
    let signed = |r: Result<Obj, Refusal>| {
        let obj = r.unwrap_or_else(|r| r.to_obj());
        json(&envelope(&key, &obj, Some(&keys.alipay_private)))
    };
    if let Err(r) = check_common(&params, &keys) {
        return signed(Err(r));
    }
    // A service provider's app calling for a merchant: the token says which one.
    let merchant = match get("app_auth_token") {
        None => None,
        Some(token) => match app_auth::resolve(&sim, &app_id, &token) {
            Ok(m) => Some(m),
            Err(r) => return signed(Err(r)),
        },
    };
    let biz = match get("biz_content").map(|b| serde_json::from_str::<Value>(&b)) {
        None => Map::new(),
        Some(Ok(Value::Object(m))) => m,
        Some(_) => {
            return signed(Err(Refusal::invalid(
                "isv.invalid-parameter",
                "biz_content 不是 JSON 对象",
            )));
        }
    };
    let call = Call {
        app_id,
        merchant,
        method,
        params,
        biz,
    };
    if PAGE_METHODS.contains(&call.method.as_str()) {
        return match cashier::open(&sim, &call).await {
            Ok(page) => Html(page).into_response(),
            Err(r) => Html(cashier::error_page(&r)).into_response(),
        };
    }
    if let Err(fault) = check_api(&sim.ctx).await {
        return signed(Err(match fault {
            ApiFault::ServerError | ApiFault::Hung => Refusal::unavailable(),
            ApiFault::RateLimited => {
                Refusal::business("ACQ.SYSTEM_ERROR", "调用频率超限，请稍后重试")
            }
        }));
    }
    signed(trade::dispatch(&sim, &call).await)
}

/// The query string and the form body together; the same name in both must carry the same value
/// (otherwise which one was signed is ambiguous).
fn merge(query: &str, body: &[u8]) -> Result<Vec<(String, String)>, Refusal> {
    let bad = |what: &str| Refusal::invalid("isv.invalid-parameter", format!("无法解析{what}"));
    let mut params: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|_| bad("查询串"))?;
    let form: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|_| bad("表单"))?;
    for (k, v) in form {
        match params.iter().find(|(n, _)| *n == k) {
            Some((_, existing)) if *existing == v => {}
            Some(_) => {
                return Err(Refusal::invalid(
                    "isv.invalid-parameter",
                    format!("参数{k}重复且取值不同"),
                ));
            }
            None => params.push((k, v)),
        }
    }
    Ok(params)
}

/// Signature and common parameters, checked in Alipay's order: signature first.
fn check_common(params: &[(String, String)], keys: &Arc<AppKeys>) -> Result<(), Refusal> {
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let missing = |sub_code: &'static str, sub_msg: &str| Refusal {
        code: "40001",
        msg: "Missing Required Arguments",
        sub_code,
        sub_msg: sub_msg.to_owned(),
    };
    if get("sign").is_empty() {
        return Err(missing("isv.missing-signature", "缺少签名参数"));
    }
    if get("sign_type").is_empty() {
        return Err(missing("isv.missing-signature-type", "缺少签名类型参数"));
    }
    if get("sign_type") != "RSA2" {
        return Err(Refusal::invalid(
            "isv.invalid-signature-type",
            "无效的签名类型参数",
        ));
    }
    let content = sign_text(params, true);
    if keys
        .app_public
        .verify_base64(content.as_bytes(), get("sign"))
        .is_err()
    {
        // Alipay shows the text it verified, which is how integrators find their mistake.
        return Err(Refusal::invalid(
            "isv.invalid-signature",
            format!(
                "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{content}"
            ),
        ));
    }
    if get("timestamp").is_empty() {
        return Err(missing("isv.missing-timestamp", "缺少时间戳参数"));
    }
    // Format only: clients format in their host's zone (Node's SDK in UTC on a UTC machine), and
    // Alipay tolerates that in practice.
    if super::wire::parse_china_time(get("timestamp")).is_none() {
        return Err(Refusal::invalid(
            "isv.invalid-timestamp",
            "非法的时间戳参数",
        ));
    }
    if !matches!(
        get("charset").to_ascii_lowercase().as_str(),
        "" | "utf-8" | "utf8"
    ) {
        return Err(Refusal::invalid(
            "isv.invalid-charset",
            "字符集错误（模拟器只支持 utf-8）",
        ));
    }
    if !matches!(get("format").to_ascii_uppercase().as_str(), "" | "JSON") {
        return Err(Refusal::invalid("isv.invalid-format", "无效的数据格式"));
    }
    if !matches!(get("version"), "" | "1.0") {
        return Err(Refusal::invalid("isv.invalid-version", "无效的版本号"));
    }
    Ok(())
}

fn json(body: &str) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
        body.to_owned(),
    )
        .into_response()
}
