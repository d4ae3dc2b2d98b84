//! The basic account's fund-flow bill, following from the same trades as the trade bill: a payment
//! brings its billed amount in and takes its fee out; an accepted refund takes the refund out and
//! gives its fee back; a refund closed afterwards brings the refund back and takes that fee again.
//! Only a direct merchant's own orders move its account (a sub-merchant's money is the
//! sub-merchant's). The balance runs from the first movement the simulator knows of. A test can
//! make a payment's fee movement differ from the trade bill (`bill_controls`).

use std::io::Write;

use super::super::fees;
use super::super::state::{RefundStatus, WechatState};
use super::{day_and_time, line, yuan};

const HEADER: &str = "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号";
const SUMMARY: &str = "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额";

/// One movement of the balance, as a row of the fund-flow bill says it.
#[derive(Debug, Clone)]
pub struct FundFlowRow<'a> {
    /// `YYYY-MM-DD HH:MM:SS`, China time.
    pub time: &'a str,
    /// WeChat Pay's number of the payment (its transaction id) or of the refund (its refund id).
    pub business_id: &'a str,
    /// 业务名称: `交易` for a payment and its fee, `退款` for a refund and the fee it gives back.
    pub name: &'a str,
    /// 业务类型: `交易`, `扣除交易手续费`, `退款`, `退还交易手续费`, `退款关闭`.
    pub kind: &'a str,
    pub income: bool,
    /// Zero or more, in fen; a zero moves nothing and is no row.
    pub amount_fen: i64,
    /// 资金变更提交申请人: `system` for a payment, `<mchid>API` for a refund.
    pub applicant: &'a str,
    /// The merchant's number of the payment or refund.
    pub voucher: &'a str,
}

/// Writes the basic account's fund-flow bill of one day row by row into `out` (a file, a buffer),
/// keeping only the balance and the totals its summary needs: the simulator's own bills and a
/// benchmark's million-row bill are the same text.
pub struct FundFlowWriter<W: Write> {
    out: W,
    /// `<mchid><YYYYMMDD>`, before each row's sequence number in its 资金流水单号.
    flow_prefix: String,
    balance: i64,
    rows: u64,
    income_n: u64,
    income: i64,
    expense_n: u64,
    expense: i64,
}

impl<W: Write> FundFlowWriter<W> {
    /// Writes the header of `mchid`'s bill of `date` (`YYYY-MM-DD`), whose balance stood at
    /// `opening_fen` before the day's first movement.
    ///
    /// # Errors
    /// Writing to `out` failed.
    pub fn new(mut out: W, mchid: &str, date: &str, opening_fen: i64) -> std::io::Result<Self> {
        out.write_all(HEADER.as_bytes())?;
        out.write_all(b"\r\n")?;
        Ok(Self {
            out,
            flow_prefix: format!("{mchid}{}", date.replace('-', "")),
            balance: opening_fen,
            rows: 0,
            income_n: 0,
            income: 0,
            expense_n: 0,
            expense: 0,
        })
    }

    /// Writes one movement (movements go in time order); a zero amount writes nothing.
    ///
    /// # Errors
    /// Writing to `out` failed.
    pub fn row(&mut self, m: &FundFlowRow<'_>) -> std::io::Result<()> {
        if m.amount_fen == 0 {
            return Ok(());
        }
        self.rows += 1;
        if m.income {
            self.balance += m.amount_fen;
            self.income_n += 1;
            self.income += m.amount_fen;
        } else {
            self.balance -= m.amount_fen;
            self.expense_n += 1;
            self.expense += m.amount_fen;
        }
        self.out.write_all(
            line(&[
                m.time.to_owned(),
                m.business_id.to_owned(),
                format!("{}{:08}", self.flow_prefix, self.rows),
                m.name.to_owned(),
                m.kind.to_owned(),
                if m.income { "收入" } else { "支出" }.to_owned(),
                yuan(m.amount_fen),
                yuan(self.balance),
                m.applicant.to_owned(),
                String::new(),
                m.voucher.to_owned(),
            ])
            .as_bytes(),
        )
    }

    /// How many rows were written.
    #[must_use]
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes the summary and hands back `out`.
    ///
    /// # Errors
    /// Writing to `out` failed.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.write_all(SUMMARY.as_bytes())?;
        self.out.write_all(b"\r\n")?;
        self.out.write_all(
            line(&[
                self.rows.to_string(),
                self.income_n.to_string(),
                yuan(self.income),
                self.expense_n.to_string(),
                yuan(self.expense),
            ])
            .as_bytes(),
        )?;
        Ok(self.out)
    }
}

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
    let all = movements(s, mchid);
    // Times of the same shape compare like the instants they are.
    let opening: i64 = all
        .iter()
        .filter(|m| m.time.as_str() < date)
        .map(|m| if m.income { m.amount } else { -m.amount })
        .sum();
    let written = (|| {
        let mut bill = FundFlowWriter::new(Vec::new(), mchid, date, opening)?;
        for m in all.iter().filter(|m| m.time.get(..10) == Some(date)) {
            bill.row(&FundFlowRow {
                time: &m.time,
                business_id: &m.business_id,
                name: m.name,
                kind: m.kind,
                income: m.income,
                amount_fen: m.amount,
                applicant: &m.applicant,
                voucher: &m.voucher,
            })?;
        }
        if bill.rows() == 0 {
            return Ok(None);
        }
        bill.finish().map(Some)
    })();
    // Writing into memory cannot fail, and the cells are text.
    written
        .ok()
        .flatten()
        .and_then(|bytes| String::from_utf8(bytes).ok())
}
