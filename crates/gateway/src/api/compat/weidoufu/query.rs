//! `GET /pay/query`: one of the site's orders by `mch_trade_no` or `out_order_no`, read with the
//! channel asked if need be, with where its payment notification stands. Signed, unlike
//! weidoufu's own (see `compat::weidoufu::QueryRequest`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use compat::weidoufu::answer::Placed;
use compat::weidoufu::{NotifyStatus, OrderRef, PayStatus, QueryRequest};
use serde_json::{Map, Value};

use super::super::form_params;
use super::{Ctx, Endpoint, Failure, json, store_trouble, text_of, verified};
use crate::domain::{
    EventType, NotificationStatus, OrderStatus, OutTradeNo, Site, compat_trade_no,
    order_of_compat_trade_no,
};
use crate::service::{OrderView, ServiceError};

pub(super) async fn query(State(ctx): State<Ctx>, uri: Uri, body: Bytes) -> Response {
    let mut fields = Map::new();
    // The first of a repeated name counts, for the sign and the lookup alike.
    for (name, value) in form_params(&uri, &body, false) {
        fields.entry(name).or_insert(Value::String(value));
    }
    match answer(&ctx, &fields).await {
        Ok(answer) => answer,
        Err(failure) => {
            let asked = |name| Some(text_of(&fields, name)).filter(|no| no.len() <= 32);
            let placed = Placed {
                mch_trade_no: asked("mch_trade_no").unwrap_or_default(),
                out_order_no: asked("out_order_no").unwrap_or_default(),
            };
            let failure = match failure.mch_trade_no {
                Some(_) => failure,
                None => failure.about(placed.mch_trade_no.to_owned()),
            };
            failure.answer(Endpoint::Query, placed.out_order_no)
        }
    }
}

async fn answer(ctx: &Ctx, fields: &Map<String, Value>) -> Result<Response, Failure> {
    let (_, site) = verified(ctx, fields).await?;
    let request = QueryRequest::parse(fields)?;
    let view = find(ctx, &site, &request.order).await?;
    let order = &view.order;
    let pay = match order.status {
        OrderStatus::Created | OrderStatus::Pending => PayStatus::Waiting,
        OrderStatus::Paid | OrderStatus::Refunded => PayStatus::Paid,
        OrderStatus::Closed | OrderStatus::Failed => PayStatus::Failed,
    };
    let notify = notify_status(ctx, &site, &order.out_trade_no).await?;
    let mch_trade_no = compat_trade_no(order.id, order.created_at);
    let placed = Placed {
        mch_trade_no: &mch_trade_no,
        out_order_no: order.out_trade_no.as_str(),
    };
    Ok(json(&compat::weidoufu::query_success(placed, pay, notify)))
}

/// The site's order that `reference` names; another site's is as absent as a missing one.
async fn find(ctx: &Ctx, site: &Site, reference: &OrderRef) -> Result<OrderView, Failure> {
    let no = match reference {
        OrderRef::OutOrderNo(no) => OutTradeNo::parse(no.as_str()).ok(),
        OrderRef::MchTradeNo(no) => match order_of_compat_trade_no(no) {
            Some(id) => ctx
                .orders
                .order_by_id(id)
                .await
                .map_err(|e| store_trouble(&e))?
                .filter(|o| o.site_id == site.id && compat_trade_no(o.id, o.created_at) == *no)
                .map(|o| o.out_trade_no),
            None => None,
        },
    };
    let not_found = || Failure {
        status: StatusCode::NOT_FOUND,
        ..Failure::client("订单不存在")
    };
    let no = no.ok_or_else(not_found)?;
    match ctx.orders.get(site, &no).await {
        Ok(view) => Ok(view),
        Err(ServiceError::NotFound) => Err(not_found()),
        Err(e) => Err(store_trouble(&e)),
    }
}

/// Where the payment's notification stands; waiting while there is none yet.
async fn notify_status(ctx: &Ctx, site: &Site, no: &OutTradeNo) -> Result<NotifyStatus, Failure> {
    let events = ctx
        .notifications
        .for_order(site, no)
        .await
        .map_err(|e| store_trouble(&e))?;
    let paid = events
        .iter()
        .find(|h| h.event.event_type == EventType::TransactionSuccess);
    Ok(match paid.map(|h| h.event.status) {
        None | Some(NotificationStatus::Pending) => NotifyStatus::Waiting,
        Some(NotificationStatus::Delivered) => NotifyStatus::Delivered,
        Some(NotificationStatus::Failed) => NotifyStatus::Failed,
    })
}
