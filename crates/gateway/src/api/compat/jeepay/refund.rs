//! `/api/refund/refundOrder` and `/api/refund/query`: refunds of the site's Jeepay orders, through
//! the same service as `/v1`'s (never more than was paid, the same number and content being the
//! same refund).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use channel_core::Fen;
use compat::jeepay::{
    RefundCreated, RefundOrder, RefundOrderRef, RefundQuery, RefundState, RefundView,
};

use super::{
    Ctx, Failure, authorise, find_order, is_jeepays, params, store_trouble, upstream_or_store,
};
use crate::domain::{
    Amount, CompatKey, Order, OrderId, OutRefundNo, Refund, RefundReason, RefundRequest,
    RefundStatus, Site, compat_trade_no, order_of_compat_trade_no,
};
use crate::service::ServiceError;

/// `refundOrderId`: `R` and the refund's creation day and row id, as a pay order's number is made
/// of the order's; it reads back to the refund without a column of its own.
fn refund_order_id(refund: &Refund) -> String {
    format!(
        "R{}",
        compat_trade_no(OrderId::from_i64(refund.id), refund.created_at)
    )
}

/// The refund row id a `refundOrderId` names, if it is one; the caller checks the rest.
fn refund_of_id(id: &str) -> Option<i64> {
    order_of_compat_trade_no(id.strip_prefix('R')?).map(OrderId::as_i64)
}

pub(super) async fn refund_order(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Failure> {
    let params = params::read(&headers, &uri, &body)?;
    let authorised = authorise(&ctx, RefundOrder::parse(&params)?).await?;
    let asked = &authorised.request.request;
    let view = find_order(&ctx, &authorised.site, &asked.order).await?;
    let request = RefundRequest {
        out_refund_no: OutRefundNo::parse(&asked.mch_refund_no).map_err(|_| {
            Failure::business("商户退款单号格式不正确：须为1到64位字母、数字、_或-")
        })?,
        amount: Amount::parse(asked.refund_amount.0)
            .map_err(|_| Failure::business("申请金额超出订单可退款余额，请检查退款金额"))?,
        reason: Some(
            RefundReason::parse(&asked.refund_reason)
                .map_err(|_| Failure::business("退款原因须为1到80个可见字符"))?,
        ),
        // Jeepay's refund notices are not sent: the site learns the outcome by querying.
        notify_url: None,
    };
    let done = ctx
        .orders
        .refund(&authorised.site, &view.order.out_trade_no, request)
        .await
        .map_err(|e| refused(&e, &asked.mch_refund_no))?;
    let refund = &done.refund;
    let (state, err_code, err_msg) = outcome(refund);
    let created = RefundCreated {
        refund_order_id: refund_order_id(refund),
        mch_refund_no: refund.out_refund_no.as_str().to_owned(),
        pay_amount: Fen(view.order.amount.as_i64()),
        refund_amount: Fen(refund.amount.as_i64()),
        state,
        channel_order_no: refund.channel_refund_id.clone(),
        err_code,
        err_msg,
    };
    Ok(authorised.answer(&created))
}

pub(super) async fn refund_query(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Failure> {
    let params = params::read(&headers, &uri, &body)?;
    let authorised = authorise(&ctx, RefundQuery::parse(&params)?).await?;
    let (refund, order) =
        find_refund(&ctx, &authorised.site, &authorised.request.request.refund).await?;
    Ok(authorised.answer(&shown(&refund, &order, &authorised.key)))
}

/// The site's refund of one of its Jeepay orders, and that order.
async fn find_refund(
    ctx: &Ctx,
    site: &Site,
    reference: &RefundOrderRef,
) -> Result<(Refund, Order), Failure> {
    let not_found = || Failure::business("退款订单不存在");
    let refund = match reference {
        RefundOrderRef::MchRefundNo(no) => match OutRefundNo::parse(no) {
            Ok(no) => match ctx.orders.find_refund(&site.id, &no).await {
                Ok(found) => Some(found.refund),
                Err(ServiceError::RefundNotFound) => None,
                Err(e) => return Err(store_trouble(&e)),
            },
            Err(_) => None,
        },
        RefundOrderRef::RefundOrderId(id) => match refund_of_id(id) {
            Some(row) => ctx
                .orders
                .refund_by_id(row)
                .await
                .map_err(|e| store_trouble(&e))?
                .filter(|r| r.site_id == site.id && refund_order_id(r) == *id),
            None => None,
        },
    };
    let refund = refund.ok_or_else(not_found)?;
    let order = ctx
        .orders
        .order_by_id(refund.order_id)
        .await
        .map_err(|e| store_trouble(&e))?
        .filter(|o| o.site_id == site.id && is_jeepays(o))
        .ok_or_else(not_found)?;
    Ok((refund, order))
}

fn shown(refund: &Refund, order: &Order, key: &CompatKey) -> RefundView {
    let (state, err_code, err_msg) = outcome(refund);
    RefundView {
        refund_order_id: refund_order_id(refund),
        pay_order_id: compat_trade_no(order.id, order.created_at),
        mch_no: key.key_id.clone(),
        app_id: key.app_id.clone().unwrap_or_default(),
        mch_refund_no: refund.out_refund_no.as_str().to_owned(),
        pay_amount: Fen(order.amount.as_i64()),
        refund_amount: Fen(refund.amount.as_i64()),
        state,
        channel_order_no: refund.channel_refund_id.clone(),
        err_code,
        err_msg,
        // paygate keeps no `extParam` with a refund.
        ext_param: None,
        success_time: refund.succeeded_at.map(|at| at.as_millis()),
        created_at: refund.created_at.as_millis(),
    }
}

/// Jeepay's state of a refund, and the channel's refusal of a failed one. A refund the channel took
/// but could not pay out is still under way for the merchant: the operator settles it.
fn outcome(refund: &Refund) -> (RefundState, Option<String>, Option<String>) {
    match refund.status {
        RefundStatus::Processing | RefundStatus::Abnormal => (RefundState::Refunding, None, None),
        RefundStatus::Succeeded => (RefundState::Succeeded, None, None),
        RefundStatus::Failed => {
            match refund.upstream_error.as_deref().map(|e| e.split_once(": ")) {
                Some(Some((code, msg))) => (
                    RefundState::Failed,
                    Some(code.to_owned()),
                    Some(msg.to_owned()),
                ),
                Some(None) => (RefundState::Failed, None, refund.upstream_error.clone()),
                None => (RefundState::Failed, None, None),
            }
        }
    }
}

/// A refund refusal in Jeepay's words.
fn refused(e: &ServiceError, mch_refund_no: &str) -> Failure {
    match e {
        ServiceError::NotFound => Failure::business("订单不存在"),
        ServiceError::NotRefundable(_) => Failure::business("订单状态不正确， 无法完成退款"),
        ServiceError::RefundExceedsPaid { .. } => {
            Failure::business("申请金额超出订单可退款余额，请检查退款金额")
        }
        ServiceError::OutRefundNoConflict => {
            Failure::business(format!("商户退款订单号[{mch_refund_no}]已存在"))
        }
        ServiceError::RefundWindowPassed { .. } => Failure::business("订单已超过可退款期限"),
        other => upstream_or_store(other, "支付通道拒绝退款", "支付通道暂无应答，请稍后查询"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refund_order_id_reads_back_to_its_row_only() {
        assert_eq!(refund_of_id("R2024013000000000042"), Some(42));
        for bad in [
            "2024013000000000042",
            "R42",
            "R2024013000000000042x",
            "r2024013000000000042",
        ] {
            assert_eq!(refund_of_id(bad), None, "{bad:?}");
        }
    }
}
