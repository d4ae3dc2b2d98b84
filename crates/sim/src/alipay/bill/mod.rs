//! Bills: `alipay.data.dataservice.bill.downloadurl.query` hands out a short-lived URL; the file
//! behind it is what Alipay serves, made from the simulator's own trades.
//!
//! What is served (facts and sources in the `alipay` crate's `bill/format.rs`; the simulator's own
//! choices are marked):
//! - A zip named `<pid>0156_<yyyyMMdd or yyyyMM>.csv.zip` holding two GBK CSV files whose names
//!   are GBK without the zip UTF-8 flag: for `trade`, `<pid>0156_<date>_业务明细.csv` and
//!   `…_业务明细(汇总).csv`; for `signcustomer`, `…_账务明细.csv` and `…_账务明细(汇总).csv`. The
//!   summary comes first in the zip.
//! - `#` preamble lines (title, `#账号：[<pid>0156]`, the period, the list marker), a header line,
//!   the rows with Alipay's trailing tabs, the end marker, the totals lines and `#导出时间：[…]`.
//! - Trade detail: every payment made in the period (China time, UTC+8) is a `交易` row and every
//!   refund made in the period a `退款` row with negative amounts and its `out_request_no`.
//! - The fee (服务费) is 0.6% of the amount received, rounded half up to the fen (so 0.01 yuan pays
//!   none, as in real bills), shown negative on the `交易` row. A refund returns the fee on the
//!   amount refunded (positive on the `退款` row), never more than is left of it, and the refund
//!   that pays back everything returns all that is left, so a fully refunded trade costs nothing
//!   (simulator's choice; Alipay's rounding of returned fees is not documented where we looked).
//! - Trade summary: one row for the (unnamed) store and the `合计` row: counts of `交易` and `退款`
//!   rows and the sums of their columns; 实收净额 = 商家实收 + 服务费 (simulator's choice).
//! - `signcustomer` detail: each app has its own account that starts empty (simulator's choice;
//!   at Alipay the bill covers the whole merchant account). A payment is a `在线支付` income and
//!   its fee a `收费` outgo (`交易服务费[<trade_no>]`); a refund is a `交易退款` outgo and the fee it
//!   returns a `收费` income (`交易服务费退回[<trade_no>]`, simulator's wording). 支出 amounts are
//!   negative; 账户余额 is the balance after each line.
//! - Today's bill is served at once (Alipay makes a day's bill the next morning) so tests need not
//!   wait a day; later dates are refused with `isp.bill_not_exist`, and so is a period without any
//!   movement, as Alipay answers for a day without trades.
//!
//! A test can make the bill disagree with what the merchant saw through the API (`discrepancy.rs`).

mod archive;
mod render;

pub use render::{
    AccountDetailRow, AccountDetailWriter, AccountTotals, Period, TradeDetailRow,
    TradeDetailWriter, TradeTotals, account_summary, fee_on, trade_summary,
};

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Sim;
use super::gateway::Call;
use super::state::{Merchant, now_ms};
use super::trade::text;
use super::wire::{Obj, Refusal, china_date};
use render::{Movement, account, movements};

/// A download URL handed out.
#[derive(Debug, Clone)]
pub(crate) struct Ticket {
    app_id: String,
    /// The merchant the app asked for with its token: the bill holds that merchant's trades only.
    merchant: Option<Merchant>,
    bill_type: String,
    /// `yyyy-MM-dd` or `yyyy-MM`.
    bill_date: String,
    expires_ms: i64,
}

/// Alipay's download URLs work for 30 seconds.
const VALID_MS: i64 = 30_000;

pub(crate) fn url(sim: &Sim, call: &Call) -> Result<Obj, Refusal> {
    let bill_type = text(call, "bill_type").unwrap_or_default();
    if !matches!(bill_type.as_str(), "trade" | "signcustomer") {
        return Err(Refusal::invalid(
            "isv.invalid-parameter",
            "bill_type 只能是 trade 或 signcustomer",
        ));
    }
    let bill_date = text(call, "bill_date").unwrap_or_default();
    let shape_ok = match bill_date.len() {
        10 => super::wire::parse_china_time(&format!("{bill_date} 00:00:00")).is_some(),
        7 => super::wire::parse_china_time(&format!("{bill_date}-01 00:00:00")).is_some(),
        _ => false,
    };
    if !shape_ok {
        return Err(Refusal::invalid(
            "isv.invalid-parameter",
            "bill_date 格式应为 yyyy-MM-dd 或 yyyy-MM",
        ));
    }
    let now = now_ms();
    let today = china_date(now);
    let period = Period {
        bill_date: &bill_date,
    };
    // Same-length strings of the same shape compare like the dates they are.
    let future = bill_date.as_str() > &today[..bill_date.len()];
    let empty = || {
        sim.store.read(|s| {
            !movements(
                s.trades
                    .values()
                    .filter(|t| t.app_id == call.app_id && t.merchant == call.merchant),
            )
            .iter()
            .any(|m| period.contains(m.at_ms))
        })
    };
    let prepared = sim
        .ctx
        .prepared()
        .alipay(&bill_type, &call.app_id, &bill_date)
        .is_some();
    if future || (!prepared && empty()) {
        return Err(Refusal::business("isp.bill_not_exist", "账单不存在"));
    }
    let token = channel_core::nonce::alphanumeric(24);
    let ticket = Ticket {
        app_id: call.app_id.clone(),
        merchant: call.merchant.clone(),
        bill_type: bill_type.clone(),
        bill_date: bill_date.clone(),
        expires_ms: now + VALID_MS,
    };
    let mut tickets = sim
        .bills
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    tickets.retain(|_, t| t.expires_ms > now);
    tickets.insert(token.clone(), ticket);
    // Shaped like Alipay's URL; only the token matters to the simulator.
    let compact = period.compact();
    Ok(Obj::success().with(
        "bill_download_url",
        format!(
            "{}/sim/alipay/bills/{token}?bizType={}&userId={}&fileType=csv.zip&bizDates={compact}&downloadFileName={}_{compact}.csv.zip",
            sim.ctx.base_url(),
            if bill_type == "trade" { "trade" } else { "fnd" },
            account(),
            account(),
        ),
    ))
}

/// `GET /sim/alipay/bills/{token}`.
pub(crate) async fn download(State(sim): State<Sim>, Path(token): Path<String>) -> Response {
    let ticket = sim
        .bills
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&token)
        .cloned();
    let Some(ticket) = ticket.filter(|t| t.expires_ms > now_ms()) else {
        return (StatusCode::NOT_FOUND, "bill URL unknown or expired").into_response();
    };
    let period = Period {
        bill_date: &ticket.bill_date,
    };
    let body = match bill(&sim, &ticket, &period).await {
        Ok(body) => body,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}_{}.csv.zip\"",
                    account(),
                    period.compact()
                ),
            ),
        ],
        body,
    )
        .into_response()
}

/// The zip of the bill `ticket` is for: a prepared one as it is on disk, else made from the
/// simulator's trades.
async fn bill(sim: &Sim, ticket: &Ticket, period: &Period<'_>) -> std::io::Result<Vec<u8>> {
    if let Some(path) =
        sim.ctx
            .prepared()
            .alipay(&ticket.bill_type, &ticket.app_id, &ticket.bill_date)
    {
        return tokio::fs::read(path).await;
    }
    let now = now_ms();
    let files = sim.store.read(|s| -> std::io::Result<_> {
        let all = movements(
            s.trades
                .values()
                .filter(|t| t.app_id == ticket.app_id && t.merchant == ticket.merchant),
        );
        if ticket.bill_type == "trade" {
            let moves: Vec<&Movement<'_>> =
                all.iter().filter(|m| period.contains(m.at_ms)).collect();
            let (detail, totals) = render::trade_detail(&moves, period, now)?;
            Ok((trade_summary(&totals, period, now), detail, true))
        } else {
            let (detail, totals) = render::account_detail(&all, period, now)?;
            Ok((account_summary(&totals, period, now), detail, false))
        }
    });
    let (summary, detail, trade) = files?;
    zip_of(period, trade, &summary, detail)
}

/// A trade bill's zip, as Alipay serves it, of its detail (GBK, from [`TradeDetailWriter`]) and
/// its summary (from [`trade_summary`]).
///
/// # Errors
/// The detail is too large for a plain zip (4 GiB).
pub fn trade_zip(period: &Period<'_>, summary: &str, detail: Vec<u8>) -> std::io::Result<Vec<u8>> {
    zip_of(period, true, summary, detail)
}

/// An account bill's (`signcustomer`) zip, as Alipay serves it, of its detail (GBK, from
/// [`AccountDetailWriter`]) and its summary (from [`account_summary`]).
///
/// # Errors
/// The detail is too large for a plain zip (4 GiB).
pub fn account_zip(
    period: &Period<'_>,
    summary: &str,
    detail: Vec<u8>,
) -> std::io::Result<Vec<u8>> {
    zip_of(period, false, summary, detail)
}

/// The zip of a trade (`trade`) or account bill: the summary entry first, then the detail.
fn zip_of(
    period: &Period<'_>,
    trade: bool,
    summary: &str,
    detail: Vec<u8>,
) -> std::io::Result<Vec<u8>> {
    let prefix = format!("{}_{}_", account(), period.compact());
    let what = if trade {
        "业务明细"
    } else {
        "账务明细"
    };
    archive::zip(&[
        (format!("{prefix}{what}(汇总).csv"), archive::gbk(summary)),
        (format!("{prefix}{what}.csv"), detail),
    ])
}
