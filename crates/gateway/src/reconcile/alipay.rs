//! Alipay's trade bill of a day as bill lines: the download URL asked for with
//! `alipay.data.dataservice.bill.downloadurl.query` (`bill_type=trade`), the zip streamed to a
//! temporary file, its detail entry read row by row on a blocking thread. The reader checks the
//! detail's own totals lines against its rows; the summary entry's counts and service fees are
//! checked here against the lines. Only then does the stream end with its summary: a bill that
//! could not be read whole never reaches the end of a run.

use tokio::sync::mpsc;

use super::bill::{BillPayment, BillRefund};
use super::run::{BillChunk, BillError, BillLine};
use super::stream::{BillFile, LineSender};
use crate::domain::BillDay;

/// Opens `day`'s trade bill of the app `client` signs for.
///
/// # Errors
/// `NotYetAvailable` while Alipay has no bill of the day (`isp.bill_not_exist`), `Channel` when
/// Alipay cannot be reached or refuses, `Unusable` for a file that cannot be read.
pub async fn open(
    client: &::alipay::Client,
    day: BillDay,
) -> Result<mpsc::Receiver<Result<BillChunk, BillError>>, BillError> {
    Ok(download(client, day, ::alipay::BillType::Trade)
        .await?
        .read_with(read))
}

/// Asks Alipay for the download URL of `day`'s bill of type `bill_type` and downloads the zip to
/// a temporary file: the trade bill's and the `signcustomer` bill's answers and files are alike.
pub(super) async fn download(
    client: &::alipay::Client,
    day: BillDay,
    bill_type: ::alipay::BillType,
) -> Result<BillFile, BillError> {
    let period = ::alipay::BillPeriod::Day(day.date());
    let url = match client.bill_download_url(bill_type, period).await {
        Ok(r) => r.bill_download_url,
        Err(::alipay::Error::Upstream { sub_code, .. })
            if sub_code.as_deref() == Some("isp.bill_not_exist") =>
        {
            return Err(BillError::NotYetAvailable(day));
        }
        Err(e) => return Err(BillError::Channel(e.to_string())),
    };
    let mut file = BillFile::new()?;
    client
        .download_bill(&url, &mut file.out)
        .await
        .map_err(|e| match e {
            ::alipay::BillError::Download(e) => BillError::Channel(e.to_string()),
            other => BillError::Unusable(other.to_string()),
        })?;
    Ok(file)
}

/// Reads the bill at `path` into `lines`, ending with its totals or the reason it could not be
/// read whole.
fn read(path: &std::path::Path, mut lines: LineSender) {
    match read_all(path, &mut lines) {
        Ok(true) => lines.finish(),
        // The run stopped listening: nothing more to do.
        Ok(false) => {}
        Err(e) => lines.fail(e),
    }
}

/// Whether the whole bill was sent.
fn read_all(path: &std::path::Path, lines: &mut LineSender) -> Result<bool, BillError> {
    let unusable = |e: ::alipay::BillError| BillError::Unusable(e.to_string());
    let mut bill = ::alipay::TradeBill::open(path).map_err(unusable)?;
    let summary = bill.summary().total.clone();
    // The summary entry comes first: the lines to expect are known before the first is read (and
    // checked against them at the end).
    let expected = i64::try_from(summary.payment_count.saturating_add(summary.refund_count))
        .unwrap_or(i64::MAX);
    if lines.announce(expected).is_err() {
        return Ok(false);
    }
    let mut rows = bill.rows().map_err(unusable)?;
    for row in &mut rows {
        if let Some(line) = line(&row.map_err(unusable)?)?
            && lines.push(line).is_err()
        {
            return Ok(false);
        }
    }
    if rows.totals().is_none() {
        return Err(BillError::Unusable(
            "the detail ends before its totals".to_owned(),
        ));
    }
    let counted = lines.counted();
    let stated_fees = -summary.service_fee.0;
    let count = |n: i64| u64::try_from(n).unwrap_or(u64::MAX);
    if (summary.payment_count, summary.refund_count, stated_fees)
        != (
            count(counted.payments),
            count(counted.refunds),
            counted.fees_fen,
        )
    {
        return Err(BillError::Unusable(format!(
            "the summary ({} payments, {} refunds, {stated_fees} fen of fees) does not agree with \
             the detail ({} payments, {} refunds, {} fen of fees)",
            summary.payment_count,
            summary.refund_count,
            counted.payments,
            counted.refunds,
            counted.fees_fen
        )));
    }
    Ok(true)
}

/// A row as a bill line: a 交易 row is a payment (its service fee written negative, as a charge),
/// a 退款 row a refund (its amounts negative, the fee given back positive). Other business types
/// are not payments or refunds of an order and are left out.
fn line(row: &::alipay::TradeBillRow) -> Result<Option<BillLine>, BillError> {
    Ok(match &row.kind {
        ::alipay::TradeBillKind::Payment => Some(BillLine::Payment(BillPayment {
            upstream_order_no: row.out_trade_no.clone(),
            transaction_id: row.trade_no.clone(),
            amount_fen: row.order_amount.0,
            fee_fen: -row.service_fee.0,
        })),
        ::alipay::TradeBillKind::Refund => {
            if row.out_request_no.is_empty() {
                return Err(BillError::Unusable(format!(
                    "line {}: a refund of {} without its request number",
                    row.line, row.out_trade_no
                )));
            }
            Some(BillLine::Refund(BillRefund {
                upstream_order_no: row.out_trade_no.clone(),
                upstream_refund_no: row.out_request_no.clone(),
                channel_no: row.trade_no.clone(),
                amount_fen: -row.order_amount.0,
                fee_returned_fen: row.service_fee.0,
            }))
        }
        ::alipay::TradeBillKind::Other(_) => None,
    })
}
