//! The trade bill of one China-time day: a row per payment on the day it succeeded, a row per
//! refund on the day it was accepted (with the status it has now: the bill is a snapshot), then
//! the totals. Payments show the billed amount and the fee charged on it; refunds the fee given
//! back, as a negative fee.

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

/// One detail row: a payment, or a refund of `order`.
struct Entry<'a> {
    time: String,
    order: &'a Order,
    refund: Option<&'a Refund>,
}

impl Entry<'_> {
    fn settled(&self) -> i64 {
        if self.refund.is_some() {
            0
        } else {
            self.order.billed_total()
        }
    }

    fn refunded(&self) -> i64 {
        self.refund.map_or(0, |r| r.refund)
    }

    fn fee(&self) -> i64 {
        match self.refund {
            Some(r) => -r.fee_returned,
            None => fees::charged(self.order.billed_total()),
        }
    }

    fn cell(&self, column: &str) -> String {
        let o = self.order;
        let r = self.refund;
        let refund_text = |f: fn(&Refund) -> String, none: &str| r.map_or_else(|| none.into(), f);
        match column {
            "交易时间" => self.time.clone(),
            "公众账号ID" => o.appid.clone(),
            "商户号" => o.mchid.clone(),
            "特约商户号" => o.sub_mchid.clone().unwrap_or_else(|| "0".into()),
            "微信订单号" => o.transaction_id.clone().unwrap_or_default(),
            "商户订单号" => o.out_trade_no.clone(),
            "用户标识" => o.openid.clone().unwrap_or_default(),
            "交易类型" => o.trade_type.code().into(),
            "交易状态" => if r.is_some() { "REFUND" } else { "SUCCESS" }.into(),
            "付款银行" => "OTHERS".into(),
            "货币种类" => o.currency.clone(),
            "应结订单金额" => yuan(self.settled()),
            "订单金额" => yuan(self.settled()),
            "退款申请时间" => refund_text(|r| day_and_time(&r.create_time).1, ""),
            "退款成功时间" => refund_text(
                |r| {
                    r.success_time
                        .as_deref()
                        .map(|t| day_and_time(t).1)
                        .unwrap_or_default()
                },
                "",
            ),
            "微信退款单号" => refund_text(|r| r.refund_id.clone(), "0"),
            "商户退款单号" => refund_text(|r| r.out_refund_no.clone(), "0"),
            "退款金额" | "申请退款金额" => yuan(self.refunded()),
            "退款类型" => refund_text(|_| "ORIGINAL".into(), ""),
            "退款状态" => refund_text(|r| refund_status(r.status).into(), ""),
            "商品名称" => field_text(&o.description),
            "商户数据包" => field_text(o.attach.as_deref().unwrap_or_default()),
            "手续费" => fees::text(self.fee()),
            "费率" => fees::RATE_TEXT.into(),
            "代金券金额" | "充值券退款金额" => yuan(0),
            // 设备号 (never given through API v3 orders), 费率备注.
            _ => String::new(),
        }
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
    let mut entries: Vec<Entry<'_>> = Vec::new();
    if bill_type != BillType::Refund {
        for o in s.orders.values() {
            let Some(t) = o.success_time.as_deref() else {
                continue;
            };
            let (day, time) = day_and_time(t);
            if day == date && o.state.is_paid() && mine(&o.mchid, o.sub_mchid.as_deref()) {
                entries.push(Entry {
                    time,
                    order: o,
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
            entries.push(Entry {
                time,
                order: o,
                refund: Some(r),
            });
        }
    }
    if entries.is_empty() {
        return None;
    }
    entries.sort_by(|a, b| {
        let key = |e: &Entry<'_>| {
            (
                e.time.clone(),
                e.order.transaction_id.clone(),
                e.refund.map(|r| r.refund_id.clone()),
            )
        };
        key(a).cmp(&key(b))
    });

    let columns = bill_type.columns();
    let mut out = columns.join(",");
    out.push_str("\r\n");
    let (mut settled, mut refunded, mut fee, mut total) = (0i64, 0i64, 0i64, 0i64);
    for e in &entries {
        settled += e.settled();
        total += e.settled();
        refunded += e.refunded();
        fee += e.fee();
        let cells: Vec<String> = columns.iter().map(|c| e.cell(c)).collect();
        out.push_str(&line(&cells));
    }
    let summary = bill_type.summary_columns();
    out.push_str(&summary.join(","));
    out.push_str("\r\n");
    let values: Vec<String> = summary
        .iter()
        .map(|c| match *c {
            "总交易单数" => entries.len().to_string(),
            "应结订单总金额" => yuan(settled),
            "退款总金额" | "申请退款总金额" => yuan(refunded),
            "手续费总金额" => fees::text(fee),
            "订单总金额" => yuan(total),
            _ => yuan(0),
        })
        .collect();
    out.push_str(&line(&values));
    Some(out)
}
