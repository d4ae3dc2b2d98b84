//! Bills: apply for a trade or fund-flow bill, then download it. The download is a signed GET whose
//! answer is not signed; its integrity comes from the SHA1 given in the (verified) application.
//! Streaming the download to a file is in `bill_download`; reading the file, in `bill_file`.

use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::format_description;

use crate::client::Client;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradeBillType {
    All,
    Success,
    Refund,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FundAccountType {
    Basic,
    Operation,
    Fees,
}

/// Only GZIP exists; `None` means an uncompressed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TarType {
    Gzip,
}

/// Where a bill can be fetched, and what it must hash to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BillLocation {
    pub hash_type: String,
    pub hash_value: String,
    pub download_url: String,
}

impl Client {
    /// `GET /v3/bill/tradebill?bill_date=&bill_type=&tar_type=`.
    ///
    /// # Errors
    /// Any [`Error`]; `Upstream` `NO_STATEMENT_EXIST` / `STATEMENT_CREATING` when there is no file yet.
    pub async fn apply_trade_bill(
        &self,
        bill_date: Date,
        bill_type: Option<TradeBillType>,
        tar_type: Option<TarType>,
    ) -> Result<BillLocation> {
        let date = format_date(bill_date)?;
        let mut query = vec![("bill_date", date.as_str())];
        if let Some(t) = bill_type {
            query.push(("bill_type", trade_bill_type(t)));
        }
        if tar_type.is_some() {
            query.push(("tar_type", "GZIP"));
        }
        let url = self.url(&["v3", "bill", "tradebill"], &query)?;
        self.get(url).await
    }

    /// `GET /v3/bill/fundflowbill?bill_date=&account_type=&tar_type=`.
    ///
    /// # Errors
    /// Any [`Error`].
    pub async fn apply_fund_flow_bill(
        &self,
        bill_date: Date,
        account_type: Option<FundAccountType>,
        tar_type: Option<TarType>,
    ) -> Result<BillLocation> {
        let date = format_date(bill_date)?;
        let mut query = vec![("bill_date", date.as_str())];
        if let Some(t) = account_type {
            query.push((
                "account_type",
                match t {
                    FundAccountType::Basic => "BASIC",
                    FundAccountType::Operation => "OPERATION",
                    FundAccountType::Fees => "FEES",
                },
            ));
        }
        if tar_type.is_some() {
            query.push(("tar_type", "GZIP"));
        }
        let url = self.url(&["v3", "bill", "fundflowbill"], &query)?;
        self.get(url).await
    }

    /// Downloads the file at `location` into memory, decompresses it if it was applied for with
    /// `tar_type`, and checks its SHA1. Returns the bill text's bytes. For a large bill use
    /// [`Client::download_bill_to`], which streams to a file instead.
    ///
    /// # Errors
    /// As [`Client::download_bill_to`].
    pub async fn download_bill(
        &self,
        location: &BillLocation,
        tar_type: Option<TarType>,
    ) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.download_bill_to(location, tar_type, &mut bytes)
            .await?;
        Ok(bytes)
    }

    /// Applies for and downloads a trade bill in one go.
    ///
    /// # Errors
    /// As [`Client::apply_trade_bill`] and [`Client::download_bill`].
    pub async fn trade_bill(
        &self,
        bill_date: Date,
        bill_type: Option<TradeBillType>,
        tar_type: Option<TarType>,
    ) -> Result<Vec<u8>> {
        let location = self
            .apply_trade_bill(bill_date, bill_type, tar_type)
            .await?;
        self.download_bill(&location, tar_type).await
    }

    /// Applies for and downloads a fund-flow bill in one go.
    ///
    /// # Errors
    /// As [`Client::apply_fund_flow_bill`] and [`Client::download_bill`].
    pub async fn fund_flow_bill(
        &self,
        bill_date: Date,
        account_type: Option<FundAccountType>,
        tar_type: Option<TarType>,
    ) -> Result<Vec<u8>> {
        let location = self
            .apply_fund_flow_bill(bill_date, account_type, tar_type)
            .await?;
        self.download_bill(&location, tar_type).await
    }
}

fn trade_bill_type(t: TradeBillType) -> &'static str {
    match t {
        TradeBillType::All => "ALL",
        TradeBillType::Success => "SUCCESS",
        TradeBillType::Refund => "REFUND",
    }
}

fn format_date(d: Date) -> Result<String> {
    d.format(format_description!("[year]-[month]-[day]"))
        .map_err(|e| Error::InvalidRequest(format!("bill_date: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bill_dates_are_written_as_wechat_reads_them() {
        assert_eq!(
            format_date(time::macros::date!(2019 - 06 - 11)).unwrap(),
            "2019-06-11"
        );
    }
}
