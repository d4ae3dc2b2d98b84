//! The basic account's fund-flow bill, following from the same trades as the trade bill: a payment
//! brings its billed amount in and takes its fee out; an accepted refund takes the refund out and
//! gives its fee back; a refund closed afterwards brings the refund back and takes that fee again.
//! Only a direct merchant's own orders move its account (a sub-merchant's money is the
//! sub-merchant's). The balance runs from the first movement the simulator knows of. A test can
//! make a payment's fee movement differ from the trade bill (`bill_controls`).

use super::super::fees;
use super::super::state::{RefundStatus, WechatState};
use super::{day_and_time, line, yuan};

const HEADER: &str = "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号";
const SUMMARY: &str = "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额";

struct Movement {
    /// `YYYY-MM-DD HH:MM:SS`, China time.
    time: String,
    business_id: String,
    name: &'static str,
    kind: &'static str,
    income: bool,
    amount: i64,
    applicant: String,
    voucher: String,
}

/// Every movement of `mchid`'s basic account, oldest first.
fn movements(s: &WechatState, mchid: &str) -> Vec<Movement> {
    let mut all = Vec::new();
    for o in s.orders.values() {
        if o.mchid != mchid || o.sub_mchid.is_some() || !o.state.is_paid() {
            continue;
        }
        let Some(t) = o.success_time.as_deref() else {
            continue;
        };
        let time = day_and_time(t).1;
        let id = o.transaction_id.clone().unwrap_or_default();
        let billed = o.billed_total();
        let mut push = |kind, income, amount| {
            all.push(Movement {
                time: time.clone(),
                business_id: id.clone(),
                name: "交易",
                kind,
                income,
                amount,
                applicant: "system".into(),
                voucher: o.out_trade_no.clone(),
            });
        };
        push("交易", true, billed);
        let fee = o.fund_flow_fee.unwrap_or_else(|| fees::charged(billed));
        push("扣除交易手续费", false, fee);
    }
    for r in s.refunds.values() {
        if r.mchid != mchid || r.sub_mchid.is_some() {
            continue;
        }
        let mut push = |time: &str, kind, income, amount| {
            all.push(Movement {
                time: day_and_time(time).1,
                business_id: r.refund_id.clone(),
                name: "退款",
                kind,
                income,
                amount,
                applicant: format!("{mchid}API"),
                voucher: r.out_refund_no.clone(),
            });
        };
        push(&r.create_time, "退款", false, r.refund);
        push(&r.create_time, "退还交易手续费", true, r.fee_returned);
        if let (RefundStatus::Closed, Some(closed)) = (r.status, &r.closed_time) {
            push(closed, "退款关闭", true, r.refund);
            push(closed, "扣除交易手续费", false, r.fee_returned);
        }
    }
    // A zero fee moves nothing and is not a movement.
    all.retain(|m| m.amount != 0);
    all.sort_by(|a, b| {
        (&a.time, &a.business_id, !a.income).cmp(&(&b.time, &b.business_id, !b.income))
    });
    all
}

/// The basic account's bill of `date` (`YYYY-MM-DD`, China time), or `None` when its balance did
/// not move that day.
pub fn csv(s: &WechatState, mchid: &str, date: &str) -> Option<String> {
    let mut balance = 0i64;
    let mut out = format!("{HEADER}\r\n");
    let (mut rows, mut income_n, mut income, mut expense_n, mut expense) = (0, 0, 0i64, 0, 0i64);
    for m in movements(s, mchid) {
        balance += if m.income { m.amount } else { -m.amount };
        if m.time.get(..10) != Some(date) {
            continue;
        }
        rows += 1;
        if m.income {
            income_n += 1;
            income += m.amount;
        } else {
            expense_n += 1;
            expense += m.amount;
        }
        out.push_str(&line(&[
            m.time,
            m.business_id,
            format!("{mchid}{}{rows:08}", date.replace('-', "")),
            m.name.into(),
            m.kind.into(),
            if m.income { "收入" } else { "支出" }.into(),
            yuan(m.amount),
            yuan(balance),
            m.applicant,
            String::new(),
            m.voucher,
        ]));
    }
    if rows == 0 {
        return None;
    }
    out.push_str(SUMMARY);
    out.push_str("\r\n");
    out.push_str(&line(&[
        rows.to_string(),
        income_n.to_string(),
        yuan(income),
        expense_n.to_string(),
        yuan(expense),
    ]));
    Some(out)
}
