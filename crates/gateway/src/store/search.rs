//! The console's order search: any of the filters an operator fills in, within the user's scope,
//! newest first, one page at a time by keyset — the page after `(created_at, id)` of the last row
//! shown, never an OFFSET, so that the thousandth page costs what the first does (the indexes are
//! in migration 0010). Only the conditions asked for are in the SQL: a `$1 IS NULL OR …` would
//! keep PostgreSQL's generic plans off the indexes.

use crate::domain::{Channel, Method, OrderId, OrderStatus, OutTradeNo, Scope, SiteId, Timestamp};

use super::orders::{ListedOrder, ListedOrderRow};
use super::rows::order_columns;
use super::{Store, StoreError, with_pool};

/// Where a page starts: after the order created at `created_at` with row id `id` (in the list's
/// order, newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderCursor {
    pub created_at: Timestamp,
    pub id: OrderId,
}

impl OrderCursor {
    /// The cursor after `order`.
    #[must_use]
    pub fn after(order: &crate::domain::Order) -> Self {
        Self {
            created_at: order.created_at,
            id: order.id,
        }
    }

    /// `MILLIS_ID`, as [`OrderCursor::to_param`] writes it; `None` for anything else.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        let (millis, id) = s.split_once('_')?;
        let number = |p: &str| {
            (!p.is_empty() && p.len() <= 19 && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse::<i64>().ok())
                .flatten()
        };
        Some(Self {
            created_at: Timestamp::from_millis(number(millis)?),
            id: OrderId::from_i64(number(id)?),
        })
    }

    /// The cursor as a URL parameter.
    #[must_use]
    pub fn to_param(self) -> String {
        format!("{}_{}", self.created_at.as_millis(), self.id.as_i64())
    }
}

/// A channel's method as the search takes it: one a fixed order names, or `Any` for the
/// channel-neutral orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodFilter {
    Fixed(Method),
    Any,
}

/// What to look for. Every field narrows the search; none set lists every order in scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSearch {
    pub scope: Scope,
    pub out_trade_no: Option<OutTradeNo>,
    /// WeChat Pay's `transaction_id` or Alipay's `trade_no`.
    pub transaction_id: Option<String>,
    /// One site (within the scope: a site user asking for another site finds nothing).
    pub site: Option<SiteId>,
    pub status: Option<OrderStatus>,
    pub channel: Option<Channel>,
    pub method: Option<MethodFilter>,
    /// Created at or after this instant...
    pub created_from: Option<Timestamp>,
    /// ... and before this one.
    pub created_before: Option<Timestamp>,
    /// Only orders that should have moved on by now: `created` since before this instant (the
    /// channel's answer never came), or `pending` past their expiry before it (not closed).
    pub stuck_before: Option<Timestamp>,
    pub after: Option<OrderCursor>,
    /// Rows per page.
    pub limit: u32,
}

impl OrderSearch {
    /// Every order in `scope`, `limit` a page: the search the filters narrow.
    #[must_use]
    pub fn every(scope: Scope, limit: u32) -> Self {
        Self {
            scope,
            out_trade_no: None,
            transaction_id: None,
            site: None,
            status: None,
            channel: None,
            method: None,
            created_from: None,
            created_before: None,
            stuck_before: None,
            after: None,
            limit,
        }
    }
}

/// One page of orders, and where the next one starts (when there is one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPage {
    pub orders: Vec<ListedOrder>,
    pub next: Option<OrderCursor>,
}

/// A value bound to one `$n` of a statement built here.
#[derive(Debug, Clone)]
pub(super) enum Arg {
    Text(String),
    Int(i64),
}

/// `AND`ed conditions with their arguments, numbered as they are added.
#[derive(Debug, Default)]
pub(super) struct Conditions {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Conditions {
    /// Adds the condition `clause(n)`, where `$n` is `arg`'s placeholder.
    pub(super) fn add(&mut self, arg: Arg, clause: impl FnOnce(usize) -> String) {
        self.args.push(arg);
        self.clauses.push(clause(self.args.len()));
    }

    /// Adds a condition that takes no argument.
    pub(super) fn add_fixed(&mut self, clause: &str) {
        self.clauses.push(clause.to_owned());
    }

    /// `site_id = $n` (with `column` as the site column) when the scope is one site.
    pub(super) fn scope(&mut self, scope: &Scope, column: &str) {
        if let Some(site) = scope.site() {
            self.add(Arg::Text(site.as_str().to_owned()), |n| {
                format!("{column} = ${n}")
            });
        }
    }

    /// ` WHERE a AND b …`, or nothing.
    pub(super) fn where_clause(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    pub(super) fn args(&self) -> &[Arg] {
        &self.args
    }

    /// The number the next argument will get.
    pub(super) fn next_placeholder(&self) -> usize {
        self.args.len() + 1
    }
}

/// Binds every argument of `$conditions` to `$query`, in order.
macro_rules! bind_all {
    ($query:expr, $conditions:expr) => {{
        let mut query = $query;
        for arg in $conditions.args() {
            query = match arg {
                $crate::store::search::Arg::Text(s) => query.bind(s.clone()),
                $crate::store::search::Arg::Int(i) => query.bind(*i),
            };
        }
        query
    }};
}
pub(super) use bind_all;

/// The filters of `search` as conditions (scope first).
fn conditions(search: &OrderSearch) -> Conditions {
    let mut c = Conditions::default();
    c.scope(&search.scope, "site_id");
    if let Some(site) = &search.site {
        c.add(Arg::Text(site.as_str().to_owned()), |n| {
            format!("site_id = ${n}")
        });
    }
    if let Some(no) = &search.out_trade_no {
        c.add(Arg::Text(no.as_str().to_owned()), |n| {
            format!("out_trade_no = ${n}")
        });
    }
    if let Some(id) = &search.transaction_id {
        c.add(Arg::Text(id.clone()), |n| {
            format!("(transaction_id = ${n} OR trade_no = ${n})")
        });
    }
    if let Some(status) = search.status {
        c.add(Arg::Text(status.as_str().to_owned()), |n| {
            format!("status = ${n}")
        });
    }
    // A channel-neutral order holds a placeholder channel and method until it is paid.
    let bound = "(neutral = 0 OR paid_at IS NOT NULL)";
    if let Some(channel) = search.channel {
        c.add(Arg::Text(channel.as_str().to_owned()), |n| {
            format!("channel = ${n} AND {bound}")
        });
    }
    match search.method {
        Some(MethodFilter::Fixed(method)) => {
            c.add(Arg::Text(method.as_str().to_owned()), |n| {
                format!("method = ${n} AND {bound}")
            });
        }
        Some(MethodFilter::Any) => c.add_fixed("neutral = 1"),
        None => {}
    }
    if let Some(from) = search.created_from {
        c.add(Arg::Int(from.as_millis()), |n| {
            format!("created_at >= ${n}")
        });
    }
    if let Some(before) = search.created_before {
        c.add(Arg::Int(before.as_millis()), |n| {
            format!("created_at < ${n}")
        });
    }
    if let Some(at) = search.stuck_before {
        c.add(Arg::Int(at.as_millis()), |n| {
            format!(
                "((status = 'created' AND created_at < ${n}) \
                 OR (status = 'pending' AND expires_at < ${n}))"
            )
        });
    }
    if let Some(after) = search.after {
        let (at, id) = (c.next_placeholder(), c.next_placeholder() + 1);
        c.args.push(Arg::Int(after.created_at.as_millis()));
        c.args.push(Arg::Int(after.id.as_i64()));
        c.clauses.push(format!("(created_at, id) < (${at}, ${id})"));
    }
    c
}

impl Store {
    /// One page of the orders `search` asks for, newest first.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn search_orders(&self, search: &OrderSearch) -> Result<OrderPage, StoreError> {
        let c = conditions(search);
        let limit = search.limit.max(1);
        // One row more than the page: whether there is a next page, without counting.
        let sql = format!(
            "SELECT {}, refund_reserved_fen, refunded_fen, split_reserved_fen FROM orders{} \
             ORDER BY created_at DESC, id DESC LIMIT {}",
            order_columns!(),
            c.where_clause(),
            u64::from(limit) + 1
        );
        let rows = with_pool!(self, pool => {
            bind_all!(sqlx::query_as::<_, ListedOrderRow>(&sql), c)
                .fetch_all(pool)
                .await
        })?;
        let mut orders = rows
            .into_iter()
            .map(ListedOrder::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let more = orders.len() > limit as usize;
        orders.truncate(limit as usize);
        let next = if more {
            orders.last().map(|o| OrderCursor::after(&o.order))
        } else {
            None
        };
        Ok(OrderPage { orders, next })
    }

    /// The order with row id `id` with its refund ledger, if it is in `scope`: another site's
    /// order is not found, as if it did not exist.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn order_in_scope(
        &self,
        scope: &Scope,
        id: OrderId,
    ) -> Result<Option<ListedOrder>, StoreError> {
        let mut c = Conditions::default();
        c.add(Arg::Int(id.as_i64()), |n| format!("id = ${n}"));
        c.scope(scope, "site_id");
        let sql = format!(
            "SELECT {}, refund_reserved_fen, refunded_fen, split_reserved_fen FROM orders{}",
            order_columns!(),
            c.where_clause()
        );
        let row = with_pool!(self, pool => {
            bind_all!(sqlx::query_as::<_, ListedOrderRow>(&sql), c)
                .fetch_optional(pool)
                .await
        })?;
        row.map(ListedOrder::try_from).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_what_they_write_and_nothing_else() {
        let cursor = OrderCursor {
            created_at: Timestamp::from_millis(1_700_000_000_123),
            id: OrderId::from_i64(42),
        };
        assert_eq!(cursor.to_param(), "1700000000123_42");
        assert_eq!(OrderCursor::parse(&cursor.to_param()), Some(cursor));
        for bad in [
            "",
            "_",
            "1_",
            "_1",
            "1-2",
            "a_1",
            "1_b",
            "-1_2",
            "1_2_3",
            "1 _2",
            "99999999999999999999_1",
        ] {
            assert_eq!(OrderCursor::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_the_filters_asked_for_reach_the_sql_and_the_scope_is_always_there() {
        let search = OrderSearch {
            scope: Scope::Site(SiteId::parse("site_a").unwrap()),
            out_trade_no: None,
            transaction_id: Some("4200".to_owned()),
            site: None,
            status: None,
            channel: None,
            method: None,
            created_from: None,
            created_before: None,
            stuck_before: None,
            after: Some(OrderCursor {
                created_at: Timestamp::from_millis(5),
                id: OrderId::from_i64(7),
            }),
            limit: 50,
        };
        let c = conditions(&search);
        assert_eq!(
            c.where_clause(),
            " WHERE site_id = $1 AND (transaction_id = $2 OR trade_no = $2) \
             AND (created_at, id) < ($3, $4)"
        );
        assert_eq!(c.args().len(), 4);
        let all = OrderSearch {
            scope: Scope::All,
            transaction_id: None,
            after: None,
            ..search
        };
        assert_eq!(conditions(&all).where_clause(), "");
    }
}
