//! Orders: the idempotent insert and the lookups. Every lookup a site can trigger is scoped by its
//! `SiteId`; the token and upstream-number lookups serve the checkout page and channel callbacks,
//! where the caller proves itself by holding the token or by the channel's signature.

use crate::domain::{
    CheckoutToken, JobSubject, NewOrder, Order, OrderEvent, OrderId, OrderStatus, OutTradeNo,
    SiteId, Timestamp, UpstreamOrderNo,
};

use super::jobs::subject_column;
use super::nonces::{NonceUse, REMEMBER_NONCE};
use super::refunds::RefundTotals;
use super::rows::{OrderEventRow, OrderRow, order_columns, select_orders_where};
use super::{Store, StoreError, with_pool, with_write_tx};

/// Inserts a [`NewOrder`] unless its site has one of that number; the stored row comes back with
/// the insert (no read after the commit). Bound by [`bind_new_order!`].
pub(super) const INSERT_ORDER: &str = concat!(
    "INSERT INTO orders (site_id, out_trade_no, upstream_order_no, channel, method, \
           amount_fen, currency, description, attach, notify_url, payer_openid, \
           payer_buyer_id, payer_client_ip, fingerprint, status, checkout_token, \
           created_at, updated_at, expires_at, version, return_url, neutral, protocol, \
           protocol_data, wechat_sub_mchid, wechat_sub_appid, alipay_seller_id, \
           profit_sharing, split_plan) \
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
           $17, $17, $18, 0, $19, $20, $21, $22, $23, $24, $25, $26, $27) \
           ON CONFLICT (site_id, out_trade_no) DO NOTHING ",
    "RETURNING ",
    order_columns!()
);

/// The first check job of an order just inserted.
pub(super) const INSERT_CHECK_JOB: &str =
    "INSERT INTO jobs (kind, subject, due_at, attempt) VALUES ($1, $2, $3, 0)";

/// `$query` ([`INSERT_ORDER`]) with the values of `$new` (a `&NewOrder`) bound.
macro_rules! bind_new_order {
    ($query:expr, $new:expr) => {{
        let new: &$crate::domain::NewOrder = $new;
        let r = new.request();
        // A channel-neutral order's channel and method are placeholders until an attempt pays it
        // (`Order::is_unbound`); the columns hold only real methods, so that every stored method
        // is one a channel offers.
        let (stored_method, neutral) = match r.pay_method {
            $crate::domain::OrderMethod::Fixed(m) => (m, 0_i64),
            $crate::domain::OrderMethod::Any => ($crate::domain::PayMethod::placeholder(), 1),
        };
        $query
            .bind(new.site_id().as_str())
            .bind(r.out_trade_no.as_str())
            .bind(new.upstream_order_no().as_str())
            .bind(stored_method.channel().as_str())
            .bind(stored_method.method().as_str())
            .bind(r.amount.as_i64())
            .bind(r.currency.as_str())
            .bind(r.description.as_str())
            .bind(r.attach.as_ref().map($crate::domain::Attach::as_str))
            .bind(r.notify_url.as_ref().map($crate::domain::NotifyUrl::as_str))
            .bind(r.payer.openid.as_ref().map(|v| v.as_str()))
            .bind(r.payer.buyer_id.as_ref().map(|v| v.as_str()))
            .bind(r.payer.client_ip.map(|ip| ip.to_string()))
            .bind(new.fingerprint().as_str())
            .bind($crate::domain::OrderStatus::Created.as_str())
            .bind(new.checkout_token().as_str())
            .bind(new.created_at().as_millis())
            .bind(new.expires_at().as_millis())
            .bind(r.return_url.as_ref().map($crate::domain::ReturnUrl::as_str))
            .bind(neutral)
            .bind(new.origin().map(|o| o.protocol.as_str()))
            .bind(new.origin().map($crate::domain::Origin::data_json))
            .bind(new.sub_merchant().map(|m| m.sub_mchid.as_str()))
            .bind(
                new.sub_merchant()
                    .and_then(|m| m.sub_appid.as_ref())
                    .map(|a| a.as_str()),
            )
            .bind(
                new.alipay_seller_id()
                    .map($crate::domain::AlipaySellerId::as_str),
            )
            .bind(i64::from(new.profit_sharing()))
            .bind(new.split_plan().map($crate::domain::SplitPlan::to_json))
    }};
}
pub(super) use bind_new_order;

/// Which orders [`Store::list_orders`] returns (the operator's view across sites).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFilter {
    /// Only this site's orders; every site's when `None`.
    pub site: Option<SiteId>,
    pub status: Option<OrderStatus>,
    /// Only orders created at or after this instant.
    pub since: Option<Timestamp>,
    /// At most this many, the newest.
    pub limit: u32,
}

/// An order as listed for the operator: with its refund ledger, which the order itself does not
/// carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedOrder {
    pub order: Order,
    pub refunds: RefundTotals,
    /// What its profit-sharing splits that are not `failed` hold.
    pub split_reserved: i64,
}

impl ListedOrder {
    /// What may still be refunded: what was paid, less what its refunds and splits hold.
    #[must_use]
    pub fn refundable(&self) -> i64 {
        (self.refunds.paid - self.refunds.reserved - self.split_reserved).max(0)
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ListedOrderRow {
    #[sqlx(flatten)]
    order: OrderRow,
    amount_fen: i64,
    refund_reserved_fen: i64,
    refunded_fen: i64,
    split_reserved_fen: i64,
}

impl TryFrom<ListedOrderRow> for ListedOrder {
    type Error = StoreError;

    fn try_from(r: ListedOrderRow) -> Result<Self, StoreError> {
        Ok(Self {
            refunds: RefundTotals {
                paid: r.amount_fen,
                reserved: r.refund_reserved_fen,
                refunded: r.refunded_fen,
            },
            split_reserved: r.split_reserved_fen,
            order: Order::try_from(r.order)?,
        })
    }
}

/// What [`Store::insert_order_if_absent`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// This call created the order.
    Inserted(Order),
    /// The site already had an order with this `out_trade_no` (maybe from a concurrent call).
    /// Whether it is the same request is for the caller to decide: `Order::was_created_from`.
    Existing(Order),
}

impl InsertOutcome {
    #[must_use]
    pub fn order(&self) -> &Order {
        match self {
            Self::Inserted(o) | Self::Existing(o) => o,
        }
    }
}

impl Store {
    /// Stores the order unless the site already has one with this `out_trade_no`. Atomic under any
    /// concurrency: the UNIQUE (site_id, out_trade_no) constraint decides, not a read before the write.
    /// A new order gets its `check_order` job (due at [`NewOrder::first_check_at`]) in the same
    /// transaction, so no order exists that nothing will ever ask the channel about.
    ///
    /// # Errors
    /// `Database` (an unknown site fails the foreign key), `Corrupt`.
    pub async fn insert_order_if_absent(
        &self,
        new: &NewOrder,
    ) -> Result<InsertOutcome, StoreError> {
        // Without a nonce there is no replay, so never `None`; an error rather than a panic all
        // the same.
        self.insert_order(new, None)
            .await?
            .ok_or(StoreError::NotFound("inserted or existing order"))
    }

    /// [`Store::insert_order_if_absent`] for a signed request, remembering its nonce in the same
    /// transaction: `None` when the nonce is a replay, and then nothing is written. Whether the
    /// order is inserted or found, the nonce is used up with the one commit that stores the order
    /// (or that finds it there): a create costs no commit of its own for its nonce. Of concurrent
    /// calls with the same nonce, exactly one is not a replay.
    ///
    /// # Errors
    /// As [`Store::insert_order_if_absent`].
    pub async fn insert_order_with_nonce(
        &self,
        new: &NewOrder,
        nonce: &NonceUse,
    ) -> Result<Option<InsertOutcome>, StoreError> {
        self.insert_order(new, Some(nonce)).await
    }

    /// `None` only for a replayed `nonce`.
    async fn insert_order(
        &self,
        new: &NewOrder,
        nonce: Option<&NonceUse>,
    ) -> Result<Option<InsertOutcome>, StoreError> {
        let sql = INSERT_ORDER;
        let check = INSERT_CHECK_JOB;
        let r = new.request();
        let inserted: Option<OrderRow> = with_write_tx!(self, tx => {
            // The nonce first: a replay stops here, before the order's row is locked or written.
            if let Some(used) = nonce {
                let fresh = sqlx::query(REMEMBER_NONCE)
                    .bind(used.ak.as_str())
                    .bind(used.nonce.as_str())
                    .bind(used.at.as_millis())
                    .bind(used.at.minus(used.retention).as_millis())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                if !fresh {
                    tx.rollback().await?;
                    return Ok(None);
                }
            }
            let inserted: Option<OrderRow> = bind_new_order!(sqlx::query_as(sql), new)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = &inserted {
                let subject = JobSubject::Order(OrderId::from_i64(row.id()));
                sqlx::query(check)
                    .bind(subject.kind().as_str())
                    .bind(subject_column(&subject))
                    .bind(new.first_check_at().as_millis())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            inserted
        });
        match inserted {
            Some(row) => Ok(Some(InsertOutcome::Inserted(Order::try_from(row)?))),
            // Orders are never deleted, so the conflicting row is there to read.
            None => {
                let order = self.find_order(new.site_id(), &r.out_trade_no).await?;
                Ok(Some(InsertOutcome::Existing(
                    order.ok_or(StoreError::NotFound("conflicting order"))?,
                )))
            }
        }
    }

    /// The site's order with this `out_trade_no`; another site's order of the same number is not found.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn find_order(
        &self,
        site: &SiteId,
        out_trade_no: &OutTradeNo,
    ) -> Result<Option<Order>, StoreError> {
        let sql = select_orders_where!("site_id = $1 AND out_trade_no = $2");
        let row = with_pool!(self, pool => sqlx::query_as::<_, OrderRow>(sql)
            .bind(site.as_str())
            .bind(out_trade_no.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(Order::try_from).transpose()
    }

    /// The order a checkout token belongs to (checkout page, status polling).
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn find_order_by_token(
        &self,
        token: &CheckoutToken,
    ) -> Result<Option<Order>, StoreError> {
        let sql = select_orders_where!("checkout_token = $1");
        let row = with_pool!(self, pool => sqlx::query_as::<_, OrderRow>(sql)
            .bind(token.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(Order::try_from).transpose()
    }

    /// The order paygate sent upstream under this number (channel callbacks and queries).
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn find_order_by_upstream_no(
        &self,
        no: &UpstreamOrderNo,
    ) -> Result<Option<Order>, StoreError> {
        let sql = select_orders_where!("upstream_order_no = $1");
        let row = with_pool!(self, pool => sqlx::query_as::<_, OrderRow>(sql)
            .bind(no.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(Order::try_from).transpose()
    }

    /// The status history of one of the site's orders, oldest first; empty for another site's order.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn order_events(
        &self,
        site: &SiteId,
        order: OrderId,
    ) -> Result<Vec<OrderEvent>, StoreError> {
        let sql = "SELECT e.order_id, e.from_status, e.to_status, e.reason, e.at \
                   FROM order_events e JOIN orders o ON o.id = e.order_id \
                   WHERE e.order_id = $1 AND o.site_id = $2 \
                   ORDER BY e.id";
        let rows = with_pool!(self, pool => sqlx::query_as::<_, OrderEventRow>(sql)
            .bind(order.as_i64())
            .bind(site.as_str())
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(OrderEvent::try_from).collect()
    }

    /// Orders for the operator, newest first (by creation), as `filter` says.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn list_orders(&self, filter: &OrderFilter) -> Result<Vec<ListedOrder>, StoreError> {
        let sql = concat!(
            "SELECT ",
            order_columns!(),
            ", refund_reserved_fen, refunded_fen, split_reserved_fen FROM orders",
            " WHERE ($1 IS NULL OR site_id = $1) AND ($2 IS NULL OR status = $2)",
            " AND ($3 IS NULL OR created_at >= $3)",
            " ORDER BY created_at DESC, id DESC LIMIT $4"
        );
        let rows = with_pool!(self, pool => sqlx::query_as::<_, ListedOrderRow>(sql)
            .bind(filter.site.as_ref().map(SiteId::as_str))
            .bind(filter.status.map(OrderStatus::as_str))
            .bind(filter.since.map(Timestamp::as_millis))
            .bind(i64::from(filter.limit))
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(ListedOrder::try_from).collect()
    }

    /// Internal: by row id, for re-reading an order this module just wrote.
    pub(crate) async fn order_by_id(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        let sql = select_orders_where!("id = $1");
        let row = with_pool!(self, pool => sqlx::query_as::<_, OrderRow>(sql)
            .bind(id.as_i64())
            .fetch_optional(pool)
            .await)?;
        row.map(Order::try_from).transpose()
    }
}
