//! `GET /v1/statements/{date}`: the signing site's statement of one day (China time, as the
//! channels cut their bills): its payments and refunds of the day, each with the fee the channel's
//! bill attributes to it once reconciliation has read that bill, and what they net to. JSON, or
//! CSV with `?format=csv`. Another site's lines are never in it.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Ctx;
use super::auth::Signed;
use super::error::{ApiError, ErrorBody};
use crate::domain::{BillDay, DomainError, Statement, StatementTotals};

#[derive(Debug, Deserialize)]
pub struct StatementQuery {
    format: Option<String>,
}

/// What a statement adds up to. Fen.
#[derive(Debug, Serialize, ToSchema)]
pub struct V1StatementTotals {
    pub payments: i64,
    pub paid: i64,
    pub refunds: i64,
    pub refunded: i64,
    /// Fees the channels kept less those they gave back, of the lines whose fee is known.
    pub fees: i64,
    /// `paid - refunded - fees`.
    pub net: i64,
    /// Lines whose fee no channel bill has stated yet: until it is 0 the day is not final.
    pub fees_pending: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct V1StatementPayment {
    pub out_trade_no: String,
    #[schema(example = "wechat")]
    pub channel: &'static str,
    pub transaction_id: Option<String>,
    /// Fen.
    pub amount: i64,
    /// Fen; `null` until the channel's bill of the day has been reconciled.
    pub fee: Option<i64>,
    pub paid_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct V1StatementRefund {
    pub out_trade_no: String,
    pub out_refund_no: String,
    #[schema(example = "wechat")]
    pub channel: &'static str,
    /// Fen.
    pub amount: i64,
    /// The part of the payment's fee the channel gave back, fen; `null` until reconciled.
    pub fee_returned: Option<i64>,
    pub succeeded_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct V1Statement {
    #[schema(example = "2026-11-29")]
    pub date: String,
    pub site_id: String,
    #[schema(example = "CNY")]
    pub currency: &'static str,
    pub totals: V1StatementTotals,
    pub payments: Vec<V1StatementPayment>,
    pub refunds: Vec<V1StatementRefund>,
    /// What the day changed in the site's balance in paygate's ledger (`GET /v1/balance`):
    /// payments and refunds, the operator's fees and the profit-sharing splits booked that day.
    pub balance: V1StatementBalance,
}

/// The site's balance movements of one day. Fen.
#[derive(Debug, Serialize, ToSchema)]
pub struct V1StatementBalance {
    pub paid: i64,
    pub refunded: i64,
    /// The operator's fees booked that day.
    pub fees: i64,
    /// What profit-sharing splits paid to receivers that day.
    pub shared: i64,
    /// `paid - refunded - fees - shared`.
    pub net: i64,
}

/// The signing site's statement of one day.
#[utoipa::path(
    get, path = "/v1/statements/{date}", tag = "v1",
    params(
        ("date" = String, Path, description = "YYYY-MM-DD, a day in China time"),
        ("format" = Option<String>, Query, description = "`csv` for CSV; JSON otherwise"),
    ),
    security(("1pass_signature" = [])),
    responses(
        (status = 200, description = "The statement (JSON, or text/csv)", body = V1Statement),
        (status = 400, description = "invalid_field (`date`, `format`)", body = ErrorBody),
        (status = 401, description = "A signing failure", body = ErrorBody),
    )
)]
pub async fn get(
    State(ctx): State<Ctx>,
    Path(date): Path<String>,
    Query(query): Query<StatementQuery>,
    signed: Signed,
) -> Result<Response, ApiError> {
    let day = BillDay::parse(&date).ok_or(DomainError::Malformed { field: "date" })?;
    let format = StatementFormat::parse(query.format.as_deref())
        .ok_or(DomainError::Malformed { field: "format" })?;
    let statement = ctx.orders.statement(&signed.site.id, day).await?;
    Ok(statement_response(&statement, format))
}

/// How a statement is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementFormat {
    Json,
    Csv,
}

impl StatementFormat {
    /// `?format=` as given: JSON when absent or `json`, CSV for `csv`; `None` for anything else.
    #[must_use]
    pub fn parse(s: Option<&str>) -> Option<Self> {
        match s {
            None | Some("json") => Some(Self::Json),
            Some("csv") => Some(Self::Csv),
            Some(_) => None,
        }
    }

    /// The file name's extension.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
        }
    }
}

/// The statement as `GET /v1/statements/{date}` answers it, in `format`: the one renderer, which
/// the console's download serves too, so that a site's file is the same whichever way it came.
pub fn statement_response(statement: &Statement, format: StatementFormat) -> Response {
    match format {
        StatementFormat::Csv => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"statement-{}.csv\"", statement.day),
                ),
            ],
            to_csv(statement),
        )
            .into_response(),
        StatementFormat::Json => Json(view(statement)).into_response(),
    }
}

fn totals(t: StatementTotals) -> V1StatementTotals {
    V1StatementTotals {
        payments: t.payments,
        paid: t.paid_fen,
        refunds: t.refunds,
        refunded: t.refunded_fen,
        fees: t.fees_fen,
        net: t.net_fen,
        fees_pending: t.fees_pending,
    }
}

fn view(s: &Statement) -> V1Statement {
    V1Statement {
        date: s.day.to_string(),
        site_id: s.site_id.as_str().to_owned(),
        currency: "CNY",
        totals: totals(s.totals()),
        balance: V1StatementBalance {
            paid: s.balance.paid,
            refunded: s.balance.refunded,
            fees: s.balance.fees,
            shared: s.balance.shared,
            net: s.balance.net(),
        },
        payments: s
            .payments
            .iter()
            .map(|p| V1StatementPayment {
                out_trade_no: p.out_trade_no.clone(),
                channel: p.channel.as_str(),
                transaction_id: p.transaction_id.clone(),
                amount: p.amount_fen,
                fee: p.fee_fen,
                paid_at: p.paid_at.to_rfc3339(),
            })
            .collect(),
        refunds: s
            .refunds
            .iter()
            .map(|r| V1StatementRefund {
                out_trade_no: r.out_trade_no.clone(),
                out_refund_no: r.out_refund_no.clone(),
                channel: r.channel.as_str(),
                amount: r.amount_fen,
                fee_returned: r.fee_returned_fen,
                succeeded_at: r.succeeded_at.to_rfc3339(),
            })
            .collect(),
    }
}

/// One line per payment and refund, then the totals, then the day's change of the site's balance
/// in the ledger (paid less refunded; the operator's fees and splits; net); amounts in fen, a
/// refund's negative, an unknown fee empty.
fn to_csv(s: &Statement) -> String {
    let mut out =
        String::from("kind,out_trade_no,out_refund_no,channel,transaction_id,at,amount,fee,net\n");
    let fee = |f: Option<i64>| f.map_or_else(String::new, |f| f.to_string());
    for p in &s.payments {
        let net = p
            .fee_fen
            .map_or_else(String::new, |f| (p.amount_fen - f).to_string());
        out.push_str(&format!(
            "payment,{},,{},{},{},{},{},{}\n",
            field(&p.out_trade_no),
            p.channel.as_str(),
            field(p.transaction_id.as_deref().unwrap_or("")),
            p.paid_at.to_rfc3339(),
            p.amount_fen,
            fee(p.fee_fen),
            net
        ));
    }
    for r in &s.refunds {
        let net = r
            .fee_returned_fen
            .map_or_else(String::new, |f| (f - r.amount_fen).to_string());
        out.push_str(&format!(
            "refund,{},{},{},,{},{},{},{}\n",
            field(&r.out_trade_no),
            field(&r.out_refund_no),
            r.channel.as_str(),
            r.succeeded_at.to_rfc3339(),
            -r.amount_fen,
            fee(r.fee_returned_fen.map(|f| -f)),
            net
        ));
    }
    let t = s.totals();
    out.push_str(&format!(
        "total,,,,,,{},{},{}\n",
        t.paid_fen - t.refunded_fen,
        t.fees_fen,
        t.net_fen
    ));
    let b = &s.balance;
    out.push_str(&format!(
        "balance,,,,,,{},{},{}\n",
        b.paid - b.refunded,
        b.fees + b.shared,
        b.net()
    ));
    out
}

/// A CSV field, quoted when it must be (the numbers paygate takes are tokens, but a channel's may
/// not be).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
