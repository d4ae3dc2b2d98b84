//! Trade and fund-flow bills, computed from the simulator's own orders and refunds.
//!
//! `GET /v3/bill/tradebill?bill_date=YYYY-MM-DD[&bill_type=ALL|SUCCESS|REFUND][&tar_type=GZIP]`
//! and `GET /v3/bill/fundflowbill?bill_date=…[&account_type=BASIC][&tar_type=GZIP]` build the file
//! at once, keep it under a token, and answer `{hash_type:"SHA1", hash_value, download_url}`; the
//! hash is of the uncompressed file. The download (`/v3/billdownload/file?token=…`) is a signed GET
//! like any other call and serves gzip when asked. Unlike WeChat Pay, today's bill is available at
//! once (tests should not wait for tomorrow). Tokens live in memory only.

use std::io::Write;

use axum::Extension;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use super::Sim;
use super::auth::Caller;
use super::error::{ApiError, ApiResult, internal};
use super::state::{RefundStatus, WechatState};

/// A prepared bill download.
#[derive(Debug, Clone)]
pub struct BillFile {
    mchid: String,
    bytes: Vec<u8>,
    gzip: bool,
}

#[derive(Debug, Deserialize)]
pub struct BillQuery {
    bill_date: Option<String>,
    sub_mchid: Option<String>,
    bill_type: Option<String>,
    account_type: Option<String>,
    tar_type: Option<String>,
}

pub async fn trade_bill(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<BillQuery>,
) -> ApiResult<Json<Value>> {
    let date = bill_date(q.bill_date.as_ref())?;
    let bill_type = q.bill_type.as_deref().unwrap_or("ALL");
    if !matches!(bill_type, "ALL" | "SUCCESS" | "REFUND") {
        return Err(ApiError::param("字段“bill_type”只能是ALL、SUCCESS、REFUND"));
    }
    let file = sim
        .store
        .read(|s| trade_csv(s, &caller.mchid, q.sub_mchid.as_deref(), &date, bill_type));
    publish(&sim, &caller, file, q.tar_type.as_deref())
}

pub async fn fund_flow_bill(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<BillQuery>,
) -> ApiResult<Json<Value>> {
    let date = bill_date(q.bill_date.as_ref())?;
    if !matches!(
        q.account_type.as_deref().unwrap_or("BASIC"),
        "BASIC" | "OPERATION" | "FEES"
    ) {
        return Err(ApiError::param(
            "字段“account_type”只能是BASIC、OPERATION、FEES",
        ));
    }
    let file = sim.store.read(|s| fund_flow_csv(s, &caller.mchid, &date));
    publish(&sim, &caller, file, q.tar_type.as_deref())
}

fn bill_date(value: Option<&String>) -> ApiResult<String> {
    let d = value.ok_or_else(|| ApiError::param("字段“bill_date”为必填项"))?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(d, &format)
        .map_err(|_| ApiError::param("字段“bill_date”格式错误，应为YYYY-MM-DD"))?;
    Ok(d.clone())
}

/// Keeps the file under a new token and answers its hash and download URL.
fn publish(
    sim: &Sim,
    caller: &Caller,
    file: Option<String>,
    tar_type: Option<&str>,
) -> ApiResult<Json<Value>> {
    let gzip = match tar_type {
        None => false,
        Some("GZIP") => true,
        Some(_) => return Err(ApiError::param("字段“tar_type”只能是GZIP")),
    };
    let text = file.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "NO_STATEMENT_EXIST",
            "账单文件不存在，请检查该商户号在指定日期内是否有成功的交易",
        )
    })?;
    let hash_value = hex::encode(Sha1::digest(text.as_bytes()));
    let bytes = if gzip {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(text.as_bytes()).map_err(internal)?;
        enc.finish().map_err(internal)?
    } else {
        text.into_bytes()
    };
    let token = channel_core::nonce::alphanumeric(40);
    sim.bill_files
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(
            token.clone(),
            BillFile {
                mchid: caller.mchid.clone(),
                bytes,
                gzip,
            },
        );
    let mut download_url = format!("{}/v3/billdownload/file?token={token}", sim.ctx.base_url());
    if gzip {
        download_url.push_str("&tartype=gzip");
    }
    Ok(Json(
        json!({ "hash_type": "SHA1", "hash_value": hash_value, "download_url": download_url }),
    ))
}

#[derive(Debug, Deserialize)]
pub struct DownloadQuery {
    token: Option<String>,
}

pub async fn download(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<DownloadQuery>,
) -> ApiResult<Response> {
    let token = q
        .token
        .ok_or_else(|| ApiError::param("字段“token”为必填项"))?;
    let file = sim
        .bill_files
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&token)
        .filter(|f| f.mchid == caller.mchid)
        .cloned()
        .ok_or_else(|| ApiError::resource_not_exists("账单下载链接不存在或已过期"))?;
    let content_type = if file.gzip {
        "application/x-gzip"
    } else {
        "text/plain;charset=utf-8"
    };
    Ok(([(header::CONTENT_TYPE, content_type)], file.bytes).into_response())
}

/// `2024-01-02T10:00:00+08:00` → (`2024-01-02`, `2024-01-02 10:00:00`).
fn day_and_time(t: &str) -> (&str, String) {
    (
        t.get(..10).unwrap_or(""),
        t.get(..19).unwrap_or("").replace('T', " "),
    )
}

fn yuan(fen: i64) -> String {
    channel_core::Fen(fen).to_yuan_string()
}

/// WeChat's 0.6 % fee, shown with five decimals.
fn fee(fen: i64) -> String {
    let f = fen * 6; // in 1/100000 yuan
    format!("{}.{:05}", f / 100_000, f % 100_000)
}

fn trade_csv(
    s: &WechatState,
    mchid: &str,
    sub: Option<&str>,
    date: &str,
    bill_type: &str,
) -> Option<String> {
    let mut rows: Vec<(String, String)> = Vec::new();
    let (mut paid_total, mut refund_total, mut fee_total, mut count) = (0i64, 0i64, 0i64, 0usize);
    let mine = |m: &str, sm: Option<&str>| m == mchid && (sub.is_none() || sm == sub);
    if bill_type != "REFUND" {
        for o in s
            .orders
            .values()
            .filter(|o| mine(&o.mchid, o.sub_mchid.as_deref()) && o.state.is_paid())
        {
            let Some(t) = &o.success_time else { continue };
            let (day, when) = day_and_time(t);
            if day != date {
                continue;
            }
            count += 1;
            paid_total += o.total;
            fee_total += o.total * 6;
            let cells = [
                when.clone(),
                o.appid.clone(),
                o.mchid.clone(),
                o.sub_mchid.clone().unwrap_or_else(|| "0".into()),
                String::new(),
                o.transaction_id.clone().unwrap_or_default(),
                o.out_trade_no.clone(),
                o.openid.clone().unwrap_or_default(),
                o.trade_type.code().into(),
                "SUCCESS".into(),
                "OTHERS".into(),
                o.currency.clone(),
                yuan(o.total),
                "0.00".into(),
                "0".into(),
                "0".into(),
                "0.00".into(),
                "0.00".into(),
                String::new(),
                String::new(),
                o.description.clone(),
                o.attach.clone().unwrap_or_default(),
                fee(o.total),
                "0.60%".into(),
                yuan(o.total),
                "0.00".into(),
                String::new(),
            ];
            rows.push((when, line(&cells)));
        }
    }
    if bill_type != "SUCCESS" {
        for r in s
            .refunds
            .values()
            .filter(|r| mine(&r.mchid, r.sub_mchid.as_deref()) && r.status == RefundStatus::Success)
        {
            let Some(t) = &r.success_time else { continue };
            let (day, when) = day_and_time(t);
            if day != date {
                continue;
            }
            let Some(o) = s.orders.get(&r.order_key) else {
                continue;
            };
            count += 1;
            refund_total += r.refund;
            fee_total -= r.refund * 6;
            let cells = [
                when.clone(),
                o.appid.clone(),
                r.mchid.clone(),
                r.sub_mchid.clone().unwrap_or_else(|| "0".into()),
                String::new(),
                r.transaction_id.clone(),
                r.out_trade_no.clone(),
                o.openid.clone().unwrap_or_default(),
                o.trade_type.code().into(),
                "REFUND".into(),
                "OTHERS".into(),
                r.currency.clone(),
                "0.00".into(),
                "0.00".into(),
                r.refund_id.clone(),
                r.out_refund_no.clone(),
                yuan(r.refund),
                "0.00".into(),
                "ORIGINAL".into(),
                "SUCCESS".into(),
                o.description.clone(),
                o.attach.clone().unwrap_or_default(),
                format!("-{}", fee(r.refund)),
                "0.60%".into(),
                "0.00".into(),
                yuan(r.refund),
                String::new(),
            ];
            rows.push((when, line(&cells)));
        }
    }
    if rows.is_empty() {
        return None;
    }
    rows.sort();
    let mut out = String::from(
        "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n",
    );
    for (_, l) in rows {
        out.push_str(&l);
    }
    out.push_str("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n");
    let fee_sign = if fee_total < 0 { "-" } else { "" };
    let fee_abs = fee_total.abs();
    out.push_str(&line(&[
        count.to_string(),
        yuan(paid_total),
        yuan(refund_total),
        "0.00".into(),
        format!("{fee_sign}{}.{:05}", fee_abs / 100_000, fee_abs % 100_000),
        yuan(paid_total),
        yuan(refund_total),
    ]));
    Some(out)
}

fn fund_flow_csv(s: &WechatState, mchid: &str, date: &str) -> Option<String> {
    // (time, business id, name, type, income?, amount)
    let mut moves: Vec<(String, String, &str, &str, bool, i64)> = Vec::new();
    for o in s
        .orders
        .values()
        .filter(|o| o.mchid == mchid && o.state.is_paid())
    {
        let Some(t) = &o.success_time else { continue };
        let (day, when) = day_and_time(t);
        if day == date {
            moves.push((
                when,
                o.transaction_id.clone().unwrap_or_default(),
                "交易",
                "交易",
                true,
                o.total,
            ));
        }
    }
    for r in s
        .refunds
        .values()
        .filter(|r| r.mchid == mchid && r.status == RefundStatus::Success)
    {
        let Some(t) = &r.success_time else { continue };
        let (day, when) = day_and_time(t);
        if day == date {
            moves.push((when, r.refund_id.clone(), "退款", "退款", false, r.refund));
        }
    }
    if moves.is_empty() {
        return None;
    }
    moves.sort();
    let mut out = String::from(
        "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额（元）,账户结余（元）,资金变更提交申请人,备注,业务凭证号\r\n",
    );
    let (mut balance, mut income_n, mut income, mut out_n, mut outgo) =
        (0i64, 0usize, 0i64, 0usize, 0i64);
    for (i, (when, id, name, kind, is_income, amount)) in moves.iter().enumerate() {
        if *is_income {
            balance += amount;
            income_n += 1;
            income += amount;
        } else {
            balance -= amount;
            out_n += 1;
            outgo += amount;
        }
        out.push_str(&line(&[
            when.clone(),
            id.clone(),
            format!("{}{:010}", date.replace('-', ""), i + 1),
            (*name).into(),
            (*kind).into(),
            if *is_income {
                "收入".into()
            } else {
                "支出".into()
            },
            yuan(*amount),
            yuan(balance),
            "system".into(),
            String::new(),
            id.clone(),
        ]));
    }
    out.push_str("资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额\r\n");
    out.push_str(&line(&[
        moves.len().to_string(),
        income_n.to_string(),
        yuan(income),
        out_n.to_string(),
        yuan(outgo),
    ]));
    Some(out)
}

/// One bill line: every cell prefixed with a backquote, as WeChat writes them (so spreadsheets keep
/// long ids as text).
fn line(cells: &[String]) -> String {
    let mut l = cells
        .iter()
        .map(|c| format!("`{c}"))
        .collect::<Vec<_>>()
        .join(",");
    l.push_str("\r\n");
    l
}
