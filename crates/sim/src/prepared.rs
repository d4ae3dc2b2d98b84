//! Bills prepared on disk by the process that runs the simulator (a benchmark's bill of a million
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
    /// Alipay's trade bill of `app_id` for `bill_date` (`YYYY-MM-DD`): the zip as served.
    AlipayTrade {
        app_id: String,
        bill_date: String,
        zip: PathBuf,
    },
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
        bills.retain(|b| !same_day(b, &bill));
        bills.push(bill);
    }

    /// The WeChat Pay trade bill prepared for `mchid` on `bill_date`: its gzip file and text SHA1.
    pub(crate) fn wechat_trade(&self, mchid: &str, bill_date: &str) -> Option<(PathBuf, String)> {
        self.find(|b| match b {
            PreparedBill::WechatTrade {
                mchid: m,
                bill_date: d,
                gzip,
                sha1,
            } if m == mchid && d == bill_date => Some((gzip.clone(), sha1.clone())),
            _ => None,
        })
    }

    /// The Alipay trade bill zip prepared for `app_id` on `bill_date`.
    pub(crate) fn alipay_trade(&self, app_id: &str, bill_date: &str) -> Option<PathBuf> {
        self.find(|b| match b {
            PreparedBill::AlipayTrade {
                app_id: a,
                bill_date: d,
                zip,
            } if a == app_id && d == bill_date => Some(zip.clone()),
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

fn same_day(a: &PreparedBill, b: &PreparedBill) -> bool {
    match (a, b) {
        (
            PreparedBill::WechatTrade {
                mchid: m1,
                bill_date: d1,
                ..
            },
            PreparedBill::WechatTrade {
                mchid: m2,
                bill_date: d2,
                ..
            },
        ) => m1 == m2 && d1 == d2,
        (
            PreparedBill::AlipayTrade {
                app_id: a1,
                bill_date: d1,
                ..
            },
            PreparedBill::AlipayTrade {
                app_id: a2,
                bill_date: d2,
                ..
            },
        ) => a1 == a2 && d1 == d2,
        _ => false,
    }
}
