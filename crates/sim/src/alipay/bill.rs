//! Bills: `alipay.data.dataservice.bill.downloadurl.query` hands out a short-lived URL; the file
//! lists the app's payments and refunds of the day or month.
//!
//! Alipay serves a zip of GBK-encoded CSV files; the simulator serves one UTF-8 CSV with the same
//! columns (the parts a reconciliation reads), unzipped. Today's bill is available at once (Alipay
//! makes it the next morning) so tests need not wait a day; future dates are refused.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Sim;
use super::gateway::Call;
use super::state::now_ms;
use super::trade::text;
use super::wire::{Obj, Refusal, china_date, china_time, yuan};

/// A download URL handed out.
#[derive(Debug, Clone)]
pub(crate) struct Ticket {
    app_id: String,
    bill_type: String,
    /// `yyyy-MM-dd` or `yyyy-MM`: rows whose China date starts with it.
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
    // Same-length strings of the same shape compare like the dates they are.
    if bill_date.as_str() > &today[..bill_date.len()] {
        return Err(Refusal::business("isp.bill_not_exist", "账单不存在"));
    }
    let token = channel_core::nonce::alphanumeric(24);
    let ticket = Ticket {
        app_id: call.app_id.clone(),
        bill_type,
        bill_date,
        expires_ms: now + VALID_MS,
    };
    let mut tickets = sim
        .bills
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    tickets.retain(|_, t| t.expires_ms > now);
    tickets.insert(token.clone(), ticket);
    Ok(Obj::success().with(
        "bill_download_url",
        format!("{}/sim/alipay/bills/{token}", sim.ctx.base_url()),
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
    let csv = render(&sim, &ticket);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}_{}_{}.csv\"",
                    ticket.app_id, ticket.bill_type, ticket.bill_date
                ),
            ),
        ],
        csv,
    )
        .into_response()
}

fn render(sim: &Sim, ticket: &Ticket) -> String {
    let mut rows: Vec<(i64, String)> = Vec::new();
    sim.store.read(|s| {
        for t in s.trades.values().filter(|t| t.app_id == ticket.app_id) {
            if let Some(paid) = t.paid_ms {
                if china_date(paid).starts_with(&ticket.bill_date) {
                    let row = format!(
                        "{},{},交易,{},{},{},{},{},,",
                        t.trade_no,
                        t.out_trade_no,
                        csv_field(&t.subject),
                        china_time(t.created_ms),
                        china_time(paid),
                        yuan(t.total_fen),
                        yuan(t.total_fen),
                    );
                    rows.push((paid, row));
                }
            }
            for r in &t.refunds {
                if china_date(r.at_ms).starts_with(&ticket.bill_date) {
                    let row = format!(
                        "{},{},退款,{},{},{},{},{},{},{}",
                        t.trade_no,
                        t.out_trade_no,
                        csv_field(&t.subject),
                        china_time(t.created_ms),
                        china_time(r.at_ms),
                        yuan(t.total_fen),
                        yuan(-r.amount_fen),
                        csv_field(&r.out_request_no),
                        csv_field(r.reason.as_deref().unwrap_or("")),
                    );
                    rows.push((r.at_ms, row));
                }
            }
        }
    });
    rows.sort_by_key(|(at, _)| *at);
    let mut out = format!(
        "#支付宝业务明细查询\n#账号：[{}]\n#起始日期：[{}]\n#账单类型：[{}]\n#-----------------------------------------业务明细列表----------------------------------------\n\
         支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,订单金额（元）,商家实收（元）,退款批次号/请求号,备注\n",
        ticket.app_id, ticket.bill_date, ticket.bill_type
    );
    for (_, row) in &rows {
        out.push_str(row);
        out.push('\n');
    }
    out.push_str(&format!("#-----------------------------------------业务明细列表结束------------------------------------\n#交易合计：{}笔\n", rows.len()));
    out
}

/// Quotes a CSV field when it needs it.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
