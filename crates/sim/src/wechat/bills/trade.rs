//! The trade bill of one China-time day: a row per payment on the day it succeeded, a row per
//! refund on the day it was accepted (with the status it has now: the bill is a snapshot), then
//! the totals. Payments show the billed amount and the fee charged on it; refunds the fee given
//! back, as a negative fee.

use std::io::Write;

use super::super::fees;
use super::super::state::{Order, Refund, RefundStatus, WechatState};
use super::{day_and_time, field_text, line, yuan};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillType {
    All,
    Success,
    Refund,
}

const ALL: &[&str] = &[
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
];

/// The refund columns a SUCCESS bill leaves out.
const REFUND_ONLY: &[&str] = &[
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "申请退款金额",
];

impl BillType {
    fn columns(self) -> Vec<&'static str> {
        match self {
            Self::All => ALL.to_vec(),
            Self::Success => ALL
                .iter()
                .copied()
                .filter(|c| !REFUND_ONLY.contains(c))
                .collect(),
            Self::Refund => {
                let mut columns = ALL.to_vec();
                let at = columns
                    .iter()
                    .position(|c| *c == "代金券金额")
                    .map_or(columns.len(), |i| i + 1);
                columns.splice(at..at, ["退款申请时间", "退款成功时间"]);
                columns
            }
        }
    }

    fn summary_columns(self) -> &'static [&'static str] {
        match self {
            Self::All | Self::Refund => &[
                "总交易单数",
                "应结订单总金额",
                "退款总金额",
                "充值券退款总金额",
                "手续费总金额",
                "订单总金额",
                "申请退款总金额",
            ],
            Self::Success => &["总交易单数", "应结订单总金额", "手续费总金额", "订单总金额"],
        }
    }
}

/// What a detail row says about the order it belongs to: the order's own fields, whichever of
/// its payment or refunds the row is.
#[derive(Debug, Clone, Copy)]
pub struct BillOrder<'a> {
    pub appid: &'a str,
    pub mchid: &'a str,
    pub sub_mchid: Option<&'a str>,
    pub transaction_id: &'a str,
    pub out_trade_no: &'a str,
    pub openid: &'a str,
    /// 交易类型 as the bill writes it (`NATIVE`, `JSAPI`, …).
    pub trade_type: &'a str,
    pub currency: &'a str,
    pub description: &'a str,
    pub attach: &'a str,
    /// What the bill shows as paid, in fen (the fee is charged on it).
    pub billed_fen: i64,
}

impl<'a> BillOrder<'a> {
    fn of(o: &'a Order) -> Self {
        Self {
            appid: &o.appid,
            mchid: &o.mchid,
            sub_mchid: o.sub_mchid.as_deref(),
            transaction_id: o.transaction_id.as_deref().unwrap_or_default(),
            out_trade_no: &o.out_trade_no,
            openid: o.openid.as_deref().unwrap_or_default(),
            trade_type: o.trade_type.code(),
            currency: &o.currency,
            description: &o.description,
            attach: o.attach.as_deref().unwrap_or_default(),
            billed_fen: o.billed_total(),
        }
    }
}

/// What a refund's row says about the refund.
#[derive(Debug, Clone, Copy)]
pub struct BillRefund<'a> {
    pub refund_id: &'a str,
    pub out_refund_no: &'a str,
    pub refund_fen: i64,
    /// The part of the payment's fee given back, in fen (written negative).
    pub fee_returned_fen: i64,
    pub status: RefundStatus,
    /// When the refund was accepted and when it succeeded (if it did), RFC 3339 in China time.
    pub create_time: &'a str,
    pub success_time: Option<&'a str>,
}

impl<'a> BillRefund<'a> {
    fn of(r: &'a Refund) -> Self {
        Self {
            refund_id: &r.refund_id,
            out_refund_no: &r.out_refund_no,
            refund_fen: r.refund,
            fee_returned_fen: r.fee_returned,
            status: r.status,
            create_time: &r.create_time,
            success_time: r.success_time.as_deref(),
        }
    }
}

/// One detail row: a payment, or a refund of `order`, at `time` (`yyyy-MM-dd HH:mm:ss`).
#[derive(Debug, Clone)]
pub struct TradeBillRow<'a> {
    pub time: String,
    pub order: BillOrder<'a>,
    pub refund: Option<BillRefund<'a>>,
}

impl TradeBillRow<'_> {
    fn settled(&self) -> i64 {
        if self.refund.is_some() {
            0
        } else {
            self.order.billed_fen
        }
    }

    fn refunded(&self) -> i64 {
        self.refund.map_or(0, |r| r.refund_fen)
    }

    fn fee(&self) -> i64 {
        match self.refund {
            Some(r) => -r.fee_returned_fen,
            None => fees::charged(self.order.billed_fen),
        }
    }

    fn cell(&self, column: &str) -> String {
        let o = &self.order;
        let r = self.refund;
        let refund_text = |f: fn(&BillRefund<'_>) -> String, none: &str| {
            r.as_ref().map_or_else(|| none.into(), f)
        };
        match column {
            "交易时间" => self.time.clone(),
            "公众账号ID" => o.appid.into(),
            "商户号" => o.mchid.into(),
            "特约商户号" => o.sub_mchid.unwrap_or("0").into(),
            "微信订单号" => o.transaction_id.into(),
            "商户订单号" => o.out_trade_no.into(),
            "用户标识" => o.openid.into(),
            "交易类型" => o.trade_type.into(),
            "交易状态" => if r.is_some() { "REFUND" } else { "SUCCESS" }.into(),
            "付款银行" => "OTHERS".into(),
            "货币种类" => o.currency.into(),
            "应结订单金额" => yuan(self.settled()),
            "订单金额" => yuan(self.settled()),
            "退款申请时间" => refund_text(|r| day_and_time(r.create_time).1, ""),
            "退款成功时间" => refund_text(
                |r| {
                    r.success_time
                        .map(|t| day_and_time(t).1)
                        .unwrap_or_default()
                },
                "",
            ),
            "微信退款单号" => refund_text(|r| r.refund_id.into(), "0"),
            "商户退款单号" => refund_text(|r| r.out_refund_no.into(), "0"),
            "退款金额" | "申请退款金额" => yuan(self.refunded()),
            "退款类型" => refund_text(|_| "ORIGINAL".into(), ""),
            "退款状态" => refund_text(|r| refund_status(r.status).into(), ""),
            "商品名称" => field_text(o.description),
            "商户数据包" => field_text(o.attach),
            "手续费" => fees::text(self.fee()),
            "费率" => fees::RATE_TEXT.into(),
            "代金券金额" | "充值券退款金额" => yuan(0),
            // 设备号 (never given through API v3 orders), 费率备注.
            _ => String::new(),
        }
    }
}

/// Writes a trade bill row by row into `out` (a file, a buffer), keeping only the totals its
/// summary needs: the simulator's own bills and a benchmark's million-row bill are the same text.
pub struct TradeBillWriter<W: Write> {
    out: W,
    bill_type: BillType,
    columns: Vec<&'static str>,
    rows: u64,
    settled: i64,
    refunded: i64,
    fee: i64,
}

impl<W: Write> TradeBillWriter<W> {
    /// Writes the header of a bill of `bill_type`.
    ///
    /// # Errors
    /// Writing to `out` failed.
    pub fn new(mut out: W, bill_type: BillType) -> std::io::Result<Self> {
        let columns = bill_type.columns();
        out.write_all(columns.join(",").as_bytes())?;
        out.write_all(b"\r\n")?;
        Ok(Self {
            out,
            bill_type,
            columns,
            rows: 0,
            settled: 0,
            refunded: 0,
            fee: 0,
        })
    }

    /// Writes one detail row (rows go in time order).
    ///
    /// # Errors
    /// Writing to `out` failed.
    pub fn row(&mut self, row: &TradeBillRow<'_>) -> std::io::Result<()> {
        self.rows += 1;
        self.settled += row.settled();
        self.refunded += row.refunded();
        self.fee += row.fee();
        let cells: Vec<String> = self.columns.iter().map(|c| row.cell(c)).collect();
        self.out.write_all(line(&cells).as_bytes())
    }

    /// Writes the summary and hands back `out`.
    ///
    /// # Errors
    /// Writing to `out` failed.
    pub fn finish(mut self) -> std::io::Result<W> {
        let summary = self.bill_type.summary_columns();
        let values: Vec<String> = summary
            .iter()
            .map(|c| match *c {
                "总交易单数" => self.rows.to_string(),
                "应结订单总金额" | "订单总金额" => yuan(self.settled),
                "退款总金额" | "申请退款总金额" => yuan(self.refunded),
                "手续费总金额" => fees::text(self.fee),
                _ => yuan(0),
            })
            .collect();
        self.out.write_all(summary.join(",").as_bytes())?;
        self.out.write_all(b"\r\n")?;
        self.out.write_all(line(&values).as_bytes())?;
        Ok(self.out)
    }
}

/// 退款状态 as the bill writes it. SUCCESS and PROCESSING are seen in real bills; for a closed or
/// abnormal refund the simulator writes API v2's words for those statuses (REFUNDCLOSE, CHANGE),
/// which could not be confirmed for bills.
fn refund_status(status: RefundStatus) -> &'static str {
    match status {
        RefundStatus::Success => "SUCCESS",
        RefundStatus::Processing => "PROCESSING",
        RefundStatus::Closed => "REFUNDCLOSE",
        RefundStatus::Abnormal => "CHANGE",
    }
}

/// The bill of `date` (`YYYY-MM-DD`, China time) for `mchid` (and one sub-merchant, if given), or
/// `None` when nothing happened that day.
pub fn csv(
    s: &WechatState,
    mchid: &str,
    sub: Option<&str>,
    date: &str,
    bill_type: BillType,
) -> Option<String> {
    let mine = |m: &str, sm: Option<&str>| m == mchid && (sub.is_none() || sm == sub);
    let mut entries: Vec<TradeBillRow<'_>> = Vec::new();
    if bill_type != BillType::Refund {
        for o in s.orders.values() {
            let Some(t) = o.success_time.as_deref() else {
                continue;
            };
            let (day, time) = day_and_time(t);
            if day == date && o.state.is_paid() && mine(&o.mchid, o.sub_mchid.as_deref()) {
                entries.push(TradeBillRow {
                    time,
                    order: BillOrder::of(o),
                    refund: None,
                });
            }
        }
    }
    if bill_type != BillType::Success {
        for r in s.refunds.values() {
            let (day, accepted) = day_and_time(&r.create_time);
            if day != date || !mine(&r.mchid, r.sub_mchid.as_deref()) {
                continue;
            }
            let Some(o) = s.orders.get(&r.order_key) else {
                continue;
            };
            // A REFUND bill dates its rows by the order's payment and gives the refund's own
            // times in their columns; an ALL bill dates them by the refund's acceptance.
            let time = match bill_type {
                BillType::Refund => o
                    .success_time
                    .as_deref()
                    .map_or(accepted, |t| day_and_time(t).1),
                BillType::All | BillType::Success => accepted,
            };
            entries.push(TradeBillRow {
                time,
                order: BillOrder::of(o),
                refund: Some(BillRefund::of(r)),
            });
        }
    }
    if entries.is_empty() {
        return None;
    }
    entries.sort_by(|a, b| {
        a.time
            .cmp(&b.time)
            .then_with(|| a.order.transaction_id.cmp(b.order.transaction_id))
            .then_with(|| {
                let refund_id = |e: &TradeBillRow<'_>| e.refund.map(|r| r.refund_id.to_owned());
                refund_id(a).cmp(&refund_id(b))
            })
    });
    let written = (|| {
        let mut bill = TradeBillWriter::new(Vec::new(), bill_type)?;
        for e in &entries {
            bill.row(e)?;
        }
        bill.finish()
    })();
    // Writing into memory cannot fail, and the cells are text.
    written.ok().and_then(|bytes| String::from_utf8(bytes).ok())
}
