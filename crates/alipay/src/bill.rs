//! Reconciliation bills: a signed call for a short-lived URL, then a plain download.

use bytes::Bytes;
use channel_core::TransportError;
use serde::Deserialize;
use serde_json::json;
use time::{Date, Month};

use crate::client::Extra;
use crate::{Client, Error};

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

    /// Downloads a bill file from the URL Alipay gave (a zip of CSV files at Alipay). The file is
    /// not signed; the URL itself is the credential, so it is fetched as is.
    ///
    /// # Errors
    /// [`Error::Transport`] for network failures and non-2xx answers.
    pub async fn download_bill(&self, url: &str) -> Result<Bytes, Error> {
        let response = self
            .http()
            .get(url)
            .send()
            .await
            .map_err(TransportError::from)?;
        let status = response.status();
        if !status.is_success() {
            return Err(
                TransportError::Other(format!("HTTP {status} downloading the bill")).into(),
            );
        }
        Ok(response.bytes().await.map_err(TransportError::from)?)
    }
}

#[cfg(test)]
mod tests {
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
