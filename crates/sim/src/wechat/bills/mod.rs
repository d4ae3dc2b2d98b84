//! Trade and fund-flow bills, computed from the simulator's own orders and refunds.
//!
//! `GET /v3/bill/tradebill?bill_date=YYYY-MM-DD[&bill_type=ALL|SUCCESS|REFUND][&tar_type=GZIP]`
//! and `GET /v3/bill/fundflowbill?bill_date=…[&account_type=BASIC|OPERATION|FEES][&tar_type=GZIP]`
//! build the file at once, keep it under a token, and answer `{hash_type:"SHA1", hash_value,
//! download_url}`; the hash is of the uncompressed file. The download
//! (`/v3/billdownload/file?token=…`) is a signed GET like any other call and serves gzip when asked.
//! Tokens live in memory only.
//!
//! The files are in WeChat Pay's format (the facts and their sources are in the `wechatpay`
//! crate's `bill_file` module): [`trade`] writes the payments and refunds of a China-time day with
//! their fees ([`super::fees`]), [`fund_flow`] the basic account's movements that follow from them.
//! A day with nothing in it has no file: `NO_STATEMENT_EXIST`, as WeChat answers; the operating
//! and fees accounts never move here, so they never have one. Unlike WeChat Pay, which makes a
//! day's bill the next morning, today's bill is made at once from what is known now (tests should
//! not wait for tomorrow); asking again later gives a newer file. The trade bill's writer
//! ([`TradeBillWriter`]) and the fund-flow bill's ([`FundFlowWriter`]) are public so that a
//! benchmark writes bills of a million rows in the same format and serves them
//! ([`crate::SimContext::prepare_bill`]).

mod fund_flow;
mod trade;

pub use fund_flow::{FundFlowRow, FundFlowWriter};
pub use trade::{BillOrder, BillRefund, BillType, TradeBillRow, TradeBillWriter};

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
    let bill_type = match q.bill_type.as_deref().unwrap_or("ALL") {
        "ALL" => trade::BillType::All,
        "SUCCESS" => trade::BillType::Success,
        "REFUND" => trade::BillType::Refund,
        _ => return Err(ApiError::param("字段“bill_type”只能是ALL、SUCCESS、REFUND")),
    };
    let prepared = match (bill_type, &q.sub_mchid) {
        (trade::BillType::All, None) => sim.ctx.prepared().wechat_trade(&caller.mchid, &date),
        _ => None,
    };
    if let Some((gzip, sha1)) = prepared {
        return publish_prepared(&sim, &caller, &gzip, sha1, q.tar_type.as_deref()).await;
    }
    let file = sim
        .store
        .read(|s| trade::csv(s, &caller.mchid, q.sub_mchid.as_deref(), &date, bill_type));
    publish(&sim, &caller, file, q.tar_type.as_deref())
}

pub async fn fund_flow_bill(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<BillQuery>,
) -> ApiResult<Json<Value>> {
    let date = bill_date(q.bill_date.as_ref())?;
    let file = match q.account_type.as_deref().unwrap_or("BASIC") {
        "BASIC" => {
            if let Some((gzip, sha1)) = sim.ctx.prepared().wechat_fund_flow(&caller.mchid, &date) {
                return publish_prepared(&sim, &caller, &gzip, sha1, q.tar_type.as_deref()).await;
            }
            sim.store.read(|s| fund_flow::csv(s, &caller.mchid, &date))
        }
        "OPERATION" | "FEES" => None,
        _ => {
            return Err(ApiError::param(
                "字段“account_type”只能是BASIC、OPERATION、FEES",
            ));
        }
    };
    publish(&sim, &caller, file, q.tar_type.as_deref())
}

fn bill_date(value: Option<&String>) -> ApiResult<String> {
    let d = value.ok_or_else(|| ApiError::param("字段“bill_date”为必填项"))?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(d, &format)
        .map_err(|_| ApiError::param("字段“bill_date”格式错误，应为YYYY-MM-DD"))?;
    Ok(d.clone())
}

/// Whether the bill is to be served gzip-compressed (`tar_type=GZIP`).
fn gzip_asked(tar_type: Option<&str>) -> ApiResult<bool> {
    match tar_type {
        None => Ok(false),
        Some("GZIP") => Ok(true),
        Some(_) => Err(ApiError::param("字段“tar_type”只能是GZIP")),
    }
}

/// Keeps the file under a new token and answers its hash and download URL.
fn publish(
    sim: &Sim,
    caller: &Caller,
    file: Option<String>,
    tar_type: Option<&str>,
) -> ApiResult<Json<Value>> {
    let gzip = gzip_asked(tar_type)?;
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
    Ok(keep(sim, caller, hash_value, bytes, gzip))
}

/// [`publish`] for a bill prepared on disk, already compressed and hashed.
async fn publish_prepared(
    sim: &Sim,
    caller: &Caller,
    path: &std::path::Path,
    sha1: String,
    tar_type: Option<&str>,
) -> ApiResult<Json<Value>> {
    let gzip = gzip_asked(tar_type)?;
    let packed = tokio::fs::read(path).await.map_err(internal)?;
    let bytes = if gzip {
        packed
    } else {
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&packed[..]), &mut text)
            .map_err(internal)?;
        text
    };
    Ok(keep(sim, caller, sha1, bytes, gzip))
}

fn keep(sim: &Sim, caller: &Caller, hash_value: String, bytes: Vec<u8>, gzip: bool) -> Json<Value> {
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
    Json(json!({ "hash_type": "SHA1", "hash_value": hash_value, "download_url": download_url }))
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

/// `2024-01-02T10:00:00+08:00` (China time, as the simulator writes times) → (`2024-01-02`,
/// `2024-01-02 10:00:00`).
fn day_and_time(t: &str) -> (&str, String) {
    (
        t.get(..10).unwrap_or(""),
        t.get(..19).unwrap_or("").replace('T', " "),
    )
}

fn yuan(fen: i64) -> String {
    channel_core::Fen(fen).to_yuan_string()
}

/// One bill line: every field after a backtick, as WeChat writes them (so spreadsheets keep long
/// ids as text), CRLF at the end.
fn line(cells: &[String]) -> String {
    let mut l = cells
        .iter()
        .map(|c| format!("`{c}"))
        .collect::<Vec<_>>()
        .join(",");
    l.push_str("\r\n");
    l
}

/// The merchant's own text made safe for a field. WeChat replaces `\x01` with a space and CR, LF
/// with the two characters `\r`, `\n`; its table for the rest could not be read, so a comma (which
/// would split the field: bills have no quoting) becomes a full-width one here.
fn field_text(text: &str) -> String {
    text.replace('\u{1}', " ")
        .replace('\r', "\\r")
        .replace('\n', "\\n")
        .replace(',', "，")
}
