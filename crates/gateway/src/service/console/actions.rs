//! The actions on an order a console user may take — refund, close, ask the channel now, resend a
//! notification — each through the same service call the API and the CLI use, each recorded in the
//! audit log with who acted, from which address, on which order and what came of it (also when the
//! service refused: an attempt is worth recording too).
//!
//! A resend changes only the database: its entry is written in the resend's own transaction. A
//! refund, a close and a query go to the channel, and a channel call cannot share a transaction:
//! what was asked is recorded before the call, so that a node dying while the channel answers
//! (the refund may be made upstream, the money moved) still leaves the record of who asked for it,
//! and what came of it is recorded once the service returns.

use crate::domain::{
    ActedBy, Actor, AuditAction, AuditEntry, Order, OrderId, RefundRequest, Site, Timestamp, User,
};

use super::super::{ChannelCheck, RefundView, ServiceError};
use super::{ConsoleError, ConsoleService, acting_scope};

/// Who acts, and from where.
#[derive(Debug, Clone, Copy)]
pub struct Acting<'a> {
    pub user: &'a User,
    pub ip: Option<&'a str>,
}

impl Acting<'_> {
    /// Who acts, as the audit log records them.
    pub(super) fn acted_by(&self) -> ActedBy {
        ActedBy {
            actor: Actor::User {
                id: self.user.id.clone(),
                email: self.user.email.clone(),
            },
            ip: self.ip.map(str::to_owned),
        }
    }
}

impl ConsoleService {
    /// Refunds part or all of the order with row id `id` (`OrderService::refund`: reserved, sent
    /// to the channel, answered as it stands).
    ///
    /// # Errors
    /// `NotAllowed` for a viewer, `NotFound` outside the user's scope, `Service` for the refund
    /// service's refusals (`RefundExceedsPaid`, `NotRefundable`, …).
    pub async fn refund(
        &self,
        acting: Acting<'_>,
        id: OrderId,
        request: RefundRequest,
    ) -> Result<RefundView, ConsoleError> {
        let (order, site) = self.target(acting, id).await?;
        let amount = format!("{} yuan", request.amount.fen());
        let number = request.out_refund_no.as_str().to_owned();
        let asked = format!("refund {number} of {amount} asked");
        self.record(acting, AuditAction::OrderRefund, &order, asked)
            .await?;
        let result = self
            .orders
            .refund(&site, &order.out_trade_no, request)
            .await;
        let detail = match &result {
            Ok(view) => format!(
                "refund {number} of {amount}: {}",
                view.refund.status.as_str()
            ),
            Err(e) => format!("refund {number} of {amount} refused: {e}"),
        };
        self.record(acting, AuditAction::OrderRefund, &order, detail)
            .await?;
        Ok(result?)
    }

    /// Closes the order with row id `id` (`OrderService::close`: upstream first, then here).
    ///
    /// # Errors
    /// `NotAllowed`, `NotFound`, `Service` (`AlreadyPaid`, `NotClosable`, an upstream failure…).
    pub async fn close(&self, acting: Acting<'_>, id: OrderId) -> Result<Order, ConsoleError> {
        let (order, site) = self.target(acting, id).await?;
        self.record(acting, AuditAction::OrderClose, &order, "asked".to_owned())
            .await?;
        let result = self.orders.close(&site, &order.out_trade_no).await;
        let detail = match &result {
            Ok(view) => format!("now {}", view.order.status.as_str()),
            Err(e) => format!("refused: {e}"),
        };
        self.record(acting, AuditAction::OrderClose, &order, detail)
            .await?;
        Ok(result?.order)
    }

    /// Asks the channel about the order with row id `id` now (`OrderService::check_now`).
    ///
    /// # Errors
    /// `NotAllowed`, `NotFound`, `Service(Store)`.
    pub async fn check_now(
        &self,
        acting: Acting<'_>,
        id: OrderId,
    ) -> Result<ChannelCheck, ConsoleError> {
        let (order, site) = self.target(acting, id).await?;
        self.record(acting, AuditAction::OrderQuery, &order, "asked".to_owned())
            .await?;
        let result = self.orders.check_now(&site, &order.out_trade_no).await;
        let detail = match &result {
            Ok(ChannelCheck::Answered { said, order }) => {
                format!("the channel said {said}; now {}", order.status.as_str())
            }
            Ok(ChannelCheck::Failed { error, .. }) => format!("no clear answer: {error}"),
            Ok(ChannelCheck::Scheduled { .. }) => "its check job is due now".to_owned(),
            Err(e) => format!("failed: {e}"),
        };
        self.record(acting, AuditAction::OrderQuery, &order, detail)
            .await?;
        Ok(result?)
    }

    /// Queues the order's notification `event_id` for delivery now, its retries restarted
    /// (`NotificationService::resend`), with its audit entry in the same transaction.
    ///
    /// # Errors
    /// `NotAllowed`, `NotFound` (also for an event of another order or site), `Service(Store)`.
    pub async fn resend(
        &self,
        acting: Acting<'_>,
        id: OrderId,
        event_id: &str,
    ) -> Result<(), ConsoleError> {
        let (order, site) = self.target(acting, id).await?;
        // The event must be this order's: the resend itself is scoped by site only.
        let events = self
            .store
            .notifications_for_order(&site.id, order.id)
            .await?;
        if !events.iter().any(|e| e.id == event_id) {
            return Err(ConsoleError::NotFound);
        }
        let entry = entry(
            acting,
            AuditAction::NotificationResend,
            &order,
            &format!("{event_id} queued"),
        );
        if self
            .notifications
            .resend_recorded(&site, event_id, &entry)
            .await?
        {
            Ok(())
        } else {
            Err(ConsoleError::NotFound)
        }
    }

    /// The order `acting` may act on, and its site.
    async fn target(&self, acting: Acting<'_>, id: OrderId) -> Result<(Order, Site), ConsoleError> {
        let scope = acting_scope(acting.user)?;
        let order = self
            .store
            .order_in_scope(&scope, id)
            .await?
            .ok_or(ConsoleError::NotFound)?
            .order;
        let site = self
            .store
            .find_site(&order.site_id)
            .await?
            .ok_or(ConsoleError::NotFound)?;
        Ok((order, site))
    }

    /// Writes [`entry`] on its own, for an action whose change is not (only) in this
    /// database.
    async fn record(
        &self,
        acting: Acting<'_>,
        action: AuditAction,
        order: &Order,
        outcome: String,
    ) -> Result<(), ConsoleError> {
        let entry = entry(acting, action, order, &outcome);
        self.store
            .record_audit(&entry)
            .await
            .map_err(|e| ConsoleError::Service(ServiceError::Store(e)))
    }
}

/// The audit entry of `action` on `order` by `acting`, saying `outcome`.
fn entry(acting: Acting<'_>, action: AuditAction, order: &Order, outcome: &str) -> AuditEntry {
    AuditEntry::by(Timestamp::now(), &acting.acted_by(), action)
        .on("order", &order.id.as_i64().to_string())
        .detail(format!(
            "{} {}: {outcome}",
            order.site_id,
            order.out_trade_no.as_str()
        ))
}
