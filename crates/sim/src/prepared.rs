//! Bills prepared on disk by the process that runs the simulator (a benchmark's bills of a million
//! rows, written with the same writers the simulator uses), served for their day in place of the
//! bill the simulator would make from its own trades. Reachable in-process only
//! ([`crate::SimContext::prepare_bill`]): no control route names a file to serve.

use std::path::PathBuf;
use std::sync::Mutex;

/// A bill file to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreparedBill {
    /// WeChat Pay's trade bill (type `ALL`) of `mchid` on `bill_date` (`YYYY-MM-DD`): `gzip` holds
    /// the bill's text gzip-compressed, `sha1` is the text's SHA1 in hex, as the application for
    /// the bill answers it.
    WechatTrade {
        mchid: String,
        bill_date: String,
        gzip: PathBuf,
        sha1: String,
    },
    /// WeChat Pay's fund-flow bill of `mchid`'s basic account on `bill_date`, as
    /// [`Self::WechatTrade`] is.
    WechatFundFlow {
        mchid: String,
        bill_date: String,
        gzip: PathBuf,
        sha1: String,
    },
    /// Alipay's trade bill of `app_id` for `bill_date` (`YYYY-MM-DD`): the zip as served.
    AlipayTrade {
        app_id: String,
        bill_date: String,
        zip: PathBuf,
    },
    /// Alipay's account bill (`signcustomer`) of `app_id` for `bill_date`: the zip as served.
    AlipayAccount {
        app_id: String,
        bill_date: String,
        zip: PathBuf,
    },
}

/// Which bill of whose day a prepared file is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    WechatTrade,
    WechatFundFlow,
    AlipayTrade,
    AlipayAccount,
}

impl PreparedBill {
    fn day(&self) -> (Kind, &str, &str) {
        match self {
            Self::WechatTrade {
                mchid, bill_date, ..
            } => (Kind::WechatTrade, mchid, bill_date),
            Self::WechatFundFlow {
                mchid, bill_date, ..
            } => (Kind::WechatFundFlow, mchid, bill_date),
            Self::AlipayTrade {
                app_id, bill_date, ..
            } => (Kind::AlipayTrade, app_id, bill_date),
            Self::AlipayAccount {
                app_id, bill_date, ..
            } => (Kind::AlipayAccount, app_id, bill_date),
        }
    }
}

/// The prepared bills, the latest one for a day replacing an earlier one.
#[derive(Debug, Default)]
pub(crate) struct PreparedBills(Mutex<Vec<PreparedBill>>);

impl PreparedBills {
    pub(crate) fn add(&self, bill: PreparedBill) {
        let mut bills = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        bills.retain(|b| b.day() != bill.day());
        bills.push(bill);
    }

    /// The WeChat Pay trade bill prepared for `mchid` on `bill_date`: its gzip file and text SHA1.
    pub(crate) fn wechat_trade(&self, mchid: &str, bill_date: &str) -> Option<(PathBuf, String)> {
        self.find(|b| match b {
            PreparedBill::WechatTrade { gzip, sha1, .. }
                if b.day() == (Kind::WechatTrade, mchid, bill_date) =>
            {
                Some((gzip.clone(), sha1.clone()))
            }
            _ => None,
        })
    }

    /// The WeChat Pay fund-flow bill prepared for `mchid`'s basic account on `bill_date`: its gzip
    /// file and text SHA1.
    pub(crate) fn wechat_fund_flow(
        &self,
        mchid: &str,
        bill_date: &str,
    ) -> Option<(PathBuf, String)> {
        self.find(|b| match b {
            PreparedBill::WechatFundFlow { gzip, sha1, .. }
                if b.day() == (Kind::WechatFundFlow, mchid, bill_date) =>
            {
                Some((gzip.clone(), sha1.clone()))
            }
            _ => None,
        })
    }

    /// The Alipay bill zip of `bill_type` (`trade`, `signcustomer`) prepared for `app_id` on
    /// `bill_date`.
    pub(crate) fn alipay(&self, bill_type: &str, app_id: &str, bill_date: &str) -> Option<PathBuf> {
        let kind = match bill_type {
            "trade" => Kind::AlipayTrade,
            "signcustomer" => Kind::AlipayAccount,
            _ => return None,
        };
        self.find(|b| match b {
            PreparedBill::AlipayTrade { zip, .. } | PreparedBill::AlipayAccount { zip, .. }
                if b.day() == (kind, app_id, bill_date) =>
            {
                Some(zip.clone())
            }
            _ => None,
        })
    }

    fn find<T>(&self, f: impl Fn(&PreparedBill) -> Option<T>) -> Option<T> {
        let bills = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        bills.iter().find_map(f)
    }
}
