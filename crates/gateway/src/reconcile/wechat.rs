//! WeChat Pay's trade bill of a day as bill lines: applied for (`GET /v3/bill/tradebill`, type
//! `ALL`, gzip), streamed to a temporary file with its SHA1 checked, then read row by row on a
//! blocking thread. The reader checks the summary rows against the detail rows; the stream ends
//! with its summary only once the whole file was read.
//!
//! A `SUCCESS` row is a payment (its 手续费 the fee kept); a `REFUND` row whose refund status is
//! `SUCCESS` is a refund (its negative 手续费 the fee given back). A refund of another status
//! (still processing when the bill was made, closed, abnormal) has not reached the payer: it is
//! not set against paygate's refunds, only against the money the account bill moved, since WeChat
//! Pay takes a refund from the balance the moment it accepts it (and bills it on that day).

use std::io::BufReader;

use tokio::sync::mpsc;

use super::bill::{BillPayment, BillRefund};
use super::run::{BillChunk, BillError, BillLine};
use super::stream::{BillFile, LineSender};
use crate::domain::BillDay;

/// Opens `day`'s trade bill of the merchant `client` signs for.
///
/// # Errors
/// `NotYetAvailable` while WeChat Pay has no file of the day (`NO_STATEMENT_EXIST`,
/// `STATEMENT_CREATING`), `Channel` when it cannot be reached or refuses, `Unusable` for a file
/// whose hash does not match or that cannot be read.
pub async fn open(
    client: &::wechatpay::Client,
    day: BillDay,
) -> Result<mpsc::Receiver<Result<BillChunk, BillError>>, BillError> {
    let gzip = Some(::wechatpay::TarType::Gzip);
    let applied = client
        .apply_trade_bill(day.date(), Some(::wechatpay::TradeBillType::All), gzip)
        .await;
    Ok(download(client, day, applied).await?.read_with(read))
}

/// Downloads the bill WeChat Pay's application for it answered with (gzip, its SHA1 checked) to
/// a temporary file: the trade bill's and the fund-flow bill's answers and files are alike.
pub(super) async fn download(
    client: &::wechatpay::Client,
    day: BillDay,
    applied: Result<::wechatpay::BillLocation, ::wechatpay::Error>,
) -> Result<BillFile, BillError> {
    let location = applied.map_err(|e| match e {
        ::wechatpay::Error::Upstream { ref code, .. }
            if code == "NO_STATEMENT_EXIST" || code == "STATEMENT_CREATING" =>
        {
            BillError::NotYetAvailable(day)
        }
        other => BillError::Channel(other.to_string()),
    })?;
    let mut file = BillFile::new()?;
    client
        .download_bill_to(&location, Some(::wechatpay::TarType::Gzip), &mut file.out)
        .await
        .map_err(|e| match e {
            ::wechatpay::Error::BillHashMismatch { .. } | ::wechatpay::Error::Decode(_) => {
                BillError::Unusable(e.to_string())
            }
            other => BillError::Channel(other.to_string()),
        })?;
    Ok(file)
}

/// Reads the bill at `path` into `lines`, ending with its totals or the reason it could not be
/// read whole.
fn read(path: &std::path::Path, mut lines: LineSender) {
    let unusable = |e: ::wechatpay::bill_file::BillFileError| BillError::Unusable(e.to_string());
    let outcome = (|| {
        let input = std::fs::File::open(path)
            .map_err(|e| BillError::Unusable(format!("the bill's temporary file: {e}")))?;
        let mut reader = ::wechatpay::bill_file::TradeBillReader::new(BufReader::new(input))
            .map_err(unusable)?;
        while let Some(row) = reader.next_row().map_err(unusable)? {
            if let Some(line) = line(&row)
                && lines.push(line).is_err()
            {
                return Ok(false);
            }
        }
        if reader.summary().is_none() {
            return Err(BillError::Unusable(
                "the bill ends before its summary".to_owned(),
            ));
        }
        Ok(true)
    })();
    match outcome {
        Ok(true) => lines.finish(),
        // The run stopped listening: nothing more to do.
        Ok(false) => {}
        Err(e) => lines.fail(e),
    }
}

fn line(row: &::wechatpay::bill_file::TradeBillRow) -> Option<BillLine> {
    use ::wechatpay::bill_file::{BillRefundStatus, TradeBillStatus};
    match (&row.status, &row.refund) {
        (TradeBillStatus::Success, _) => Some(BillLine::Payment(BillPayment {
            upstream_order_no: row.out_trade_no.clone(),
            transaction_id: row.transaction_id.clone(),
            amount_fen: row.total,
            fee_fen: row.fee,
        })),
        (TradeBillStatus::Refund, Some(refund)) => {
            let line = BillRefund {
                upstream_order_no: row.out_trade_no.clone(),
                upstream_refund_no: refund.out_refund_no.clone(),
                channel_no: refund.refund_id.clone(),
                amount_fen: refund.requested,
                fee_returned_fen: -row.fee,
            };
            Some(if refund.status == BillRefundStatus::Success {
                BillLine::Refund(line)
            } else {
                BillLine::RefundAccepted(line)
            })
        }
        _ => None,
    }
}
