//! Whose order a call is about: the signer's mchid (and sub_mchid in partner mode), checked against
//! the registered merchants and their appids; and the rule that unpaid orders expire.

use axum::http::StatusCode;
use serde::Deserialize;

use super::Sim;
use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::state::{Order, TradeState};
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
