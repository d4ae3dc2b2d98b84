//! Whose order a call is about: the signer's mchid (and sub_mchid in partner mode), checked against
//! the registered merchants and their appids; and the rule that unpaid orders expire.

use axum::http::StatusCode;
use serde::Deserialize;

use super::Sim;
use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::state::{Order, TradeState, sub_merchant_key};
use super::validate;

/// Whose order: the signer, and the sub-merchant in partner mode.
#[derive(Debug, Clone)]
pub struct Scope {
    pub mchid: String,
    pub sub_mchid: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct MchQuery {
    pub mchid: Option<String>,
    pub sp_mchid: Option<String>,
    pub sub_mchid: Option<String>,
}

/// Checks that the mchid a request names is the one that signed it.
pub fn check_mchid(sim: &Sim, caller: &Caller, mchid: &str) -> ApiResult<()> {
    if !sim.store.read(|s| s.merchants.contains_key(mchid)) {
        return Err(ApiError::mch_not_exists());
    }
    if mchid != caller.mchid {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "请求参数中的商户号与签名的商户号不一致",
        ));
    }
    Ok(())
}

/// Checks that `appid` is bound to the merchant.
pub fn check_appid(sim: &Sim, mchid: &str, appid: &str) -> ApiResult<()> {
    let bound = sim.store.read(|s| {
        s.merchants
            .get(mchid)
            .is_some_and(|m| m.appids.iter().any(|a| a == appid))
    });
    if bound {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "APPID_MCHID_NOT_MATCH",
            "appid和mch_id不匹配",
        ))
    }
}

/// Checks that `sub_mchid` is bound to the service provider `sp_mchid` (受理关系), and that
/// `sub_appid`, when given, is one of the sub-merchant's appids.
///
/// WeChat Pay answers an unbound sub-merchant with 403 `NO_AUTH` "受理关系不存在": the code and
/// message are those its partner APIs return (WeChat's e-commerce withdrawal docs list
/// `403 NO_AUTH` for "服务商和特约商户受理关系不存在", and service providers' integrations match
/// `NO_AUTH` + "受理关系不存在" from the partner order calls). The answer to a `sub_appid` that is not
/// the sub-merchant's is inferred from the direct mode's `APPID_MCHID_NOT_MATCH`.
pub fn check_sub_merchant(
    sim: &Sim,
    sp_mchid: &str,
    sub_mchid: &str,
    sub_appid: Option<&str>,
) -> ApiResult<()> {
    let bound = sim.store.read(|s| {
        s.sub_merchants
            .get(&sub_merchant_key(sp_mchid, sub_mchid))
            .map(|m| m.sub_appids.clone())
    });
    let Some(sub_appids) = bound else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "NO_AUTH",
            "受理关系不存在",
        ));
    };
    match sub_appid {
        Some(a) if !sub_appids.iter().any(|b| b == a) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "APPID_MCHID_NOT_MATCH",
            "sub_appid和sub_mchid不匹配",
        )),
        _ => Ok(()),
    }
}

/// The scope named by a query string (`?mchid=` or `?sp_mchid=&sub_mchid=`).
pub fn scope_from_query(
    sim: &Sim,
    caller: &Caller,
    q: &MchQuery,
    partner: bool,
) -> ApiResult<Scope> {
    if partner {
        let sp = validate::required(q.sp_mchid.as_ref(), "sp_mchid")?;
        let sub = validate::required(q.sub_mchid.as_ref(), "sub_mchid")?;
        check_mchid(sim, caller, sp)?;
        check_sub_merchant(sim, sp, sub, None)?;
        Ok(Scope {
            mchid: sp.to_owned(),
            sub_mchid: Some(sub.to_owned()),
        })
    } else {
        let m = validate::required(q.mchid.as_ref(), "mchid")?;
        check_mchid(sim, caller, m)?;
        Ok(Scope {
            mchid: m.to_owned(),
            sub_mchid: None,
        })
    }
}

/// Turns an unpaid order past its time_expire into CLOSED, as WeChat does on its own.
pub fn expire_if_due(order: &mut Order, now: i64) {
    if order.state == TradeState::NotPay && order.time_expire.is_some_and(|t| t <= now) {
        order.state = TradeState::Closed;
    }
}
