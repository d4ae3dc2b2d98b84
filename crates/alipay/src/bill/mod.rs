//! Reconciliation bills: a signed call for a short-lived URL, a download streamed to a file, and
//! readers of the file (a zip of GBK CSV files; `format.rs` says what Alipay serves and where each
//! fact was read): [`TradeBill`] for `trade` bills, [`AccountBill`] for `signcustomer` ones.
//!
//! ```no_run
//! # async fn demo(client: &alipay::Client) -> Result<(), alipay::BillError> {
//! use alipay::{BillPeriod, BillType, TradeBill};
//! let day = time::macros::date!(2024 - 03 - 01);
//! let url = client.bill_download_url(BillType::Trade, BillPeriod::Day(day)).await?;
//! let mut file = tokio::fs::File::create("/var/tmp/alipay-20240301.zip").await.map_err(alipay::BillError::Write)?;
//! client.download_bill(&url.bill_download_url, &mut file).await?;
//! let mut bill = TradeBill::open("/var/tmp/alipay-20240301.zip")?;
//! for row in bill.rows()? {
//!     let row = row?; // an error here means the bill is unusable, not that one row is
//!     println!("{} {:?} {}", row.out_trade_no, row.kind, row.merchant_received);
//! }
//! # Ok(()) }
//! ```

mod account;
mod format;
#[cfg(test)]
mod tests;
mod trade;

use std::time::Duration;

use channel_core::TransportError;
use serde::Deserialize;
use serde_json::json;
use time::{Date, Month};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::client::Extra;
use crate::{Client, Error};

pub use account::{
    AccountBill, AccountBillRow, AccountBillRows, AccountBillSummary, AccountBillTotal,
    AccountBillTotals, AccountEntryKind, AccountSummaryRow,
};
pub use format::{BillError, BillHeading, LineProblem};
pub use trade::{
    TradeBill, TradeBillKind, TradeBillRow, TradeBillRows, TradeBillSummary, TradeBillTotal,
    TradeBillTotals, TradeSummaryRow,
};

/// How long a download may take in all. A month's bill can be tens of megabytes, far more than
/// the API calls' timeout allows for.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(600);

/// Which bill (`bill_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillType {
    /// Trades of the app (`trade`).
    Trade,
    /// Account movements (`signcustomer`).
    SignCustomer,
}

impl BillType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Trade => "trade",
            Self::SignCustomer => "signcustomer",
        }
    }
}

/// The period a bill covers (`bill_date`): a day or a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillPeriod {
    Day(Date),
    Month { year: i32, month: Month },
}

impl BillPeriod {
    fn to_wire(self) -> String {
        match self {
            Self::Day(d) => format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
            Self::Month { year, month } => format!("{year:04}-{:02}", u8::from(month)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BillUrlResponse {
    /// Valid for a short time (30 s at Alipay); fetch it with [`Client::download_bill`].
    pub bill_download_url: String,
}

impl Client {
    /// `alipay.data.dataservice.bill.downloadurl.query`.
    ///
    /// # Errors
    /// See [`Error`]; a bill not ready yet is [`Error::Upstream`] (`isp.bill_not_exist`).
    pub async fn bill_download_url(
        &self,
        bill_type: BillType,
        period: BillPeriod,
    ) -> Result<BillUrlResponse, Error> {
        let biz = json!({ "bill_type": bill_type.as_str(), "bill_date": period.to_wire() });
        self.call(
            "alipay.data.dataservice.bill.downloadurl.query",
            &biz,
            Extra::default(),
        )
        .await
    }

    /// Downloads a bill file from the URL Alipay gave into `out` as it arrives (never the whole
    /// file in memory), then flushes `out`; returns the number of bytes written. The file is not
    /// signed; the URL itself is the credential, so it is fetched as is. Open what was written with
    /// [`TradeBill::open`] or [`AccountBill::open`].
    ///
    /// On an error `out` may hold part of the file: discard it.
    ///
    /// # Errors
    /// [`BillError::Download`] ([`Error::Transport`]) for network failures and non-2xx answers,
    /// [`BillError::Write`] when `out` fails.
    pub async fn download_bill<W>(&self, url: &str, out: &mut W) -> Result<u64, BillError>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let fetch = |e: reqwest::Error| BillError::Download(Error::from(TransportError::from(e)));
        let mut response = self
            .http()
            .get(url)
            .timeout(DOWNLOAD_TIMEOUT)
            .send()
            .await
            .map_err(fetch)?;
        let status = response.status();
        if !status.is_success() {
            return Err(BillError::Download(
                TransportError::Other(format!("HTTP {status} downloading the bill")).into(),
            ));
        }
        let mut written = 0u64;
        while let Some(chunk) = response.chunk().await.map_err(fetch)? {
            out.write_all(&chunk).await.map_err(BillError::Write)?;
            written += chunk.len() as u64;
        }
        out.flush().await.map_err(BillError::Write)?;
        Ok(written)
    }
}

#[cfg(test)]
mod period_tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn bill_dates() {
        assert_eq!(
            BillPeriod::Day(date!(2024 - 03 - 07)).to_wire(),
            "2024-03-07"
        );
        assert_eq!(
            BillPeriod::Month {
                year: 2024,
                month: Month::March
            }
            .to_wire(),
            "2024-03"
        );
    }
}
