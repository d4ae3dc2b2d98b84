//! The text of a bill's CSV files, from the simulator's trades: what moved, when, and the fee on it.

use std::fmt::Write as _;
use std::io::Write;

use super::archive::gbk;

use super::super::state::{SANDBOX_BUYER_LOGON_ID, SELLER_ID, Trade};
use super::super::wire::{china_date, china_time, yuan};

/// Alipay's fee: 0.6% of what the merchant received.
const FEE_PER_MILLE: i64 = 6;

/// One movement of money on a trade: its payment or one of its refunds.
pub(crate) struct Movement<'a> {
    pub trade: &'a Trade,
    pub at_ms: i64,
    /// The refund's `out_request_no`; `None` for the payment.
    pub refund: Option<&'a str>,
    /// Signed: positive for the payment, negative for a refund.
    pub amount_fen: i64,
    /// Signed from the merchant's side: negative when charged, positive when returned.
    pub fee_fen: i64,
}

/// The fee on `fen`, rounded half up to the fen (so 0.01 yuan pays none, as in Alipay's bills).
#[must_use]
pub fn fee_on(fen: i64) -> i64 {
    (fen.max(0) * FEE_PER_MILLE + 500) / 1000
}

/// Every movement of `trades`, in time order (a payment before its refunds at the same instant).
/// A refund returns the fee on the amount refunded, never more than what is left of the fee
/// charged, and the refund that pays back the whole bill returns all that is left, so a fully
/// refunded trade costs no fee.
pub(crate) fn movements<'a>(trades: impl Iterator<Item = &'a Trade>) -> Vec<Movement<'a>> {
    let mut out = Vec::new();
    for t in trades {
        let Some(paid) = t.paid_ms else { continue };
        let billed = t.billed_fen();
        let fee = fee_on(billed);
        out.push(Movement {
            trade: t,
            at_ms: paid,
            refund: None,
            amount_fen: billed,
            fee_fen: -fee,
        });
        let mut refunded = 0;
        let mut returned = 0;
        for r in &t.refunds {
            refunded += r.amount_fen;
            let back = if refunded >= billed {
                fee - returned
            } else {
                fee_on(r.amount_fen).min(fee - returned)
            };
            returned += back;
            out.push(Movement {
                trade: t,
                at_ms: r.at_ms,
                refund: Some(&r.out_request_no),
                amount_fen: -r.amount_fen,
                fee_fen: back,
            });
        }
    }
    out.sort_by_key(|m| (m.at_ms, m.refund.is_some()));
    out
}

/// The period a bill covers, as its file names and preamble write it.
pub struct Period<'a> {
    /// `yyyy-MM-dd` or `yyyy-MM`: movements whose China date starts with it.
    pub bill_date: &'a str,
}

impl Period<'_> {
    #[must_use]
    pub fn contains(&self, ms: i64) -> bool {
        china_date(ms).starts_with(self.bill_date)
    }

    /// `20240301` or `202403`.
    #[must_use]
    pub fn compact(&self) -> String {
        self.bill_date.replace('-', "")
    }

    /// `#起始日期：[…]   终止日期：[…]`: midnight at the start, midnight after the end.
    fn range(&self) -> String {
        let parts: Vec<i32> = self
            .bill_date
            .split('-')
            .filter_map(|p| p.parse().ok())
            .collect();
        let (start, end) = match parts.as_slice() {
            [y, m, d] => {
                let start = time::Date::from_calendar_date(*y, month(*m), day(*d)).ok();
                (start, start.and_then(time::Date::next_day))
            }
            [y, m] => {
                let start = time::Date::from_calendar_date(*y, month(*m), 1).ok();
                let next = if *m == 12 { (*y + 1, 1) } else { (*y, *m + 1) };
                (
                    start,
                    time::Date::from_calendar_date(next.0, month(next.1), 1).ok(),
                )
            }
            _ => (None, None),
        };
        let show = |d: Option<time::Date>| {
            d.map(|d| {
                format!(
                    "{:04}年{:02}月{:02}日 00:00:00",
                    d.year(),
                    u8::from(d.month()),
                    d.day()
                )
            })
            .unwrap_or_default()
        };
        format!("#起始日期：[{}]   终止日期：[{}]", show(start), show(end))
    }
}

fn month(m: i32) -> time::Month {
    u8::try_from(m)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .unwrap_or(time::Month::January)
}

fn day(d: i32) -> u8 {
    u8::try_from(d).unwrap_or(1)
}

/// The account a bill names: the merchant's pid followed by `0156`.
pub(crate) fn account() -> String {
    format!("{SELLER_ID}0156")
}

fn preamble(title: &str, list: &str, period: &Period<'_>) -> String {
    format!(
        "#{title}\n#账号：[{}]\n{}\n#-----------------------------------------{list}----------------------------------------\n",
        account(),
        period.range()
    )
}

fn end_of(list: &str) -> String {
    format!(
        "#-----------------------------------------{list}结束------------------------------------\n"
    )
}

fn exported(now_ms: i64) -> String {
    let t = china_time(now_ms);
    format!(
        "#导出时间：[{}年{}月{}日 {}]\n",
        &t[0..4],
        &t[5..7],
        &t[8..10],
        &t[11..]
    )
}

/// A field as a CSV writer would put it: quoted when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// One row of the trade detail: a payment (`交易`) or, with `refund`, a refund (`退款`).
#[derive(Debug, Clone, Copy)]
pub struct TradeDetailRow<'a> {
    pub trade_no: &'a str,
    pub out_trade_no: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub created_ms: i64,
    /// When the payment or refund was made.
    pub at_ms: i64,
    /// The refund's `out_request_no`.
    pub refund: Option<&'a str>,
    /// Signed: positive for the payment, negative for a refund.
    pub amount_fen: i64,
    /// Signed from the merchant's side: negative when charged, positive when returned.
    pub fee_fen: i64,
}

impl<'a> TradeDetailRow<'a> {
    fn of(m: &Movement<'a>) -> Self {
        let t = m.trade;
        Self {
            trade_no: &t.trade_no,
            out_trade_no: &t.out_trade_no,
            subject: &t.subject,
            body: t.body.as_deref().unwrap_or(""),
            created_ms: t.created_ms,
            at_ms: m.at_ms,
            refund: m.refund,
            amount_fen: m.amount_fen,
            fee_fen: m.fee_fen,
        }
    }
}

/// What a trade detail adds up to: its summary entry is made from it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TradeTotals {
    pub payments: i64,
    pub paid_fen: i64,
    pub refunds: i64,
    /// Negative, as the refund rows are.
    pub refunded_fen: i64,
    pub fees_fen: i64,
}

/// Writes `业务明细` row by row into `out`, GBK-encoded as served, keeping only its totals: the
/// simulator's own bills and a benchmark's million-row bill are the same text.
pub struct TradeDetailWriter<W: Write> {
    out: W,
    totals: TradeTotals,
    line: String,
}

impl<W: Write> TradeDetailWriter<W> {
    /// Writes the preamble and the header of `period`'s detail.
    ///
    /// # Errors
    /// Writing to `out` failed.
    pub fn new(mut out: W, period: &Period<'_>) -> std::io::Result<Self> {
        let mut s = preamble("支付宝业务明细查询", "业务明细列表", period);
        s.push_str("支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注\n");
        out.write_all(&gbk(&s))?;
        Ok(Self {
            out,
            totals: TradeTotals::default(),
            line: String::new(),
        })
    }

    /// Writes one row (rows go in time order).
    ///
    /// # Errors
    /// Writing to `out` failed.
    pub fn row(&mut self, r: &TradeDetailRow<'_>) -> std::io::Result<()> {
        let kind = if r.refund.is_some() {
            self.totals.refunds += 1;
            self.totals.refunded_fen += r.amount_fen;
            "退款"
        } else {
            self.totals.payments += 1;
            self.totals.paid_fen += r.amount_fen;
            "交易"
        };
        self.totals.fees_fen += r.fee_fen;
        self.line.clear();
        // Identifiers and a few other fields carry a tab, as Alipay pads them for Excel.
        let _ = writeln!(
            self.line,
            "{}\t,{}\t,{kind}\t,{},{},{},\t,\t,\t,\t,{SANDBOX_BUYER_LOGON_ID}\t,{amount},{amount},0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,{}\t,{},0.00,{}",
            r.trade_no,
            r.out_trade_no,
            field(r.subject),
            china_time(r.created_ms),
            china_time(r.at_ms),
            r.refund.unwrap_or(""),
            yuan(r.fee_fen),
            field(r.body),
            amount = yuan(r.amount_fen),
        );
        self.out.write_all(&gbk(&self.line))
    }

    /// Writes the end marker, the totals lines and the export time; hands back `out` and the
    /// totals.
    ///
    /// # Errors
    /// Writing to `out` failed.
    pub fn finish(mut self, now_ms: i64) -> std::io::Result<(W, TradeTotals)> {
        let t = self.totals;
        let mut s = end_of("业务明细列表");
        let _ = writeln!(
            s,
            "#交易合计：{}笔，商家实收共{}元，商家优惠共0.00元",
            t.payments,
            yuan(t.paid_fen)
        );
        let _ = writeln!(
            s,
            "#退款合计：{}笔，商家实收退款共{}元，商家优惠退款共0.00元",
            t.refunds,
            yuan(t.refunded_fen)
        );
        s.push_str(&exported(now_ms));
        self.out.write_all(&gbk(&s))?;
        Ok((self.out, t))
    }
}

/// `业务明细`: one row per payment (`交易`) and refund (`退款`), then the totals; GBK.
pub(crate) fn trade_detail(
    moves: &[&Movement<'_>],
    period: &Period<'_>,
    now_ms: i64,
) -> std::io::Result<(Vec<u8>, TradeTotals)> {
    let mut detail = TradeDetailWriter::new(Vec::new(), period)?;
    for m in moves {
        detail.row(&TradeDetailRow::of(m))?;
    }
    detail.finish(now_ms)
}

/// `业务明细(汇总)`: the period's sums, for the one (unnamed) store and in total.
#[must_use]
pub fn trade_summary(t: &TradeTotals, period: &Period<'_>, now_ms: i64) -> String {
    let received = t.paid_fen + t.refunded_fen;
    let sums = format!(
        "{},{},{r},{r},0.00,0.00,0.00,{},0.00,{}",
        t.payments,
        t.refunds,
        yuan(t.fees_fen),
        yuan(received + t.fees_fen),
        r = yuan(received),
    );
    let mut s = preamble("支付宝业务汇总查询", "业务汇总列表", period);
    s.push_str("门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）\n");
    let _ = writeln!(s, "\t,\t,{sums}");
    let _ = writeln!(s, "合计,,{sums}");
    s.push_str(&end_of("业务汇总列表"));
    s.push_str(&exported(now_ms));
    s
}

/// One line of the account: a movement's money or its fee.
struct Entry<'a> {
    m: &'a Movement<'a>,
    fee: bool,
    fen: i64,
}

/// Every balance movement of the app (money and fees), from the first trade on: the simulator
/// gives each app its own account that starts empty. A payment's fee is the trade bill's unless a
/// test made it differ.
fn entries<'a>(all: &'a [Movement<'a>]) -> Vec<Entry<'a>> {
    let mut out = Vec::new();
    for m in all {
        let fee_fen = match (m.refund, m.trade.account_fee_fen) {
            (None, Some(charged)) => -charged,
            _ => m.fee_fen,
        };
        for (fee, fen) in [(false, m.amount_fen), (true, fee_fen)] {
            if fen != 0 {
                out.push(Entry { m, fee, fen });
            }
        }
    }
    out
}

/// One row of the account detail (`账务明细`): a trade's money, or the fee on it.
#[derive(Debug, Clone, Copy)]
pub struct AccountDetailRow<'a> {
    pub trade_no: &'a str,
    pub out_trade_no: &'a str,
    pub subject: &'a str,
    /// When it moved.
    pub at_ms: i64,
    /// A refund's money or the fee it gives back, rather than a payment's.
    pub refund: bool,
    /// The fee (`收费`) rather than the money.
    pub fee: bool,
    /// Into the balance positive, out of it negative; a zero moves nothing and is no row.
    pub fen: i64,
}

/// What an account detail adds up to, by 类型 (在线支付, 交易退款, 收费): (income count, income,
/// outgo count, outgo); its summary entry is made from it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountTotals {
    pub kinds: [(i64, i64, i64, i64); 3],
}

/// Writes `账务明细` row by row into `out`, GBK-encoded as served, keeping only the balance and
/// the totals: the simulator's own bills and a benchmark's million-row bill are the same text.
pub struct AccountDetailWriter<W: Write> {
    out: W,
    totals: AccountTotals,
    balance: i64,
    /// The account's line number, counted from its first movement (a part of 账务流水号).
    seq: u64,
    line: String,
}

impl<W: Write> AccountDetailWriter<W> {
    /// Writes the preamble and the header of `period`'s detail, of an account whose balance was
    /// `opening_fen` after `lines_before` movements before the period.
    ///
    /// # Errors
    /// Writing to `out` failed.
    pub fn new(
        mut out: W,
        period: &Period<'_>,
        opening_fen: i64,
        lines_before: u64,
    ) -> std::io::Result<Self> {
        let mut s = preamble("支付宝账务明细查询", "账务明细列表", period);
        s.push_str("账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,支出金额（-元）,账户余额（元）,交易渠道,业务类型,备注\n");
        out.write_all(&gbk(&s))?;
        Ok(Self {
            out,
            totals: AccountTotals::default(),
            balance: opening_fen,
            seq: lines_before,
            line: String::new(),
        })
    }

    /// Writes one row (rows go in time order); a zero amount writes nothing.
    ///
    /// # Errors
    /// Writing to `out` failed.
    pub fn row(&mut self, r: &AccountDetailRow<'_>) -> std::io::Result<()> {
        if r.fen == 0 {
            return Ok(());
        }
        let seq = self.seq;
        self.seq += 1;
        self.balance += r.fen;
        let (kind, remark, k) = match (r.fee, r.refund) {
            (false, false) => ("在线支付", "", 0),
            (false, true) => ("交易退款", "", 1),
            (true, false) => ("收费", "交易服务费", 2),
            (true, true) => ("收费", "交易服务费退回", 2),
        };
        let k = &mut self.totals.kinds[k];
        let (inc, out) = if r.fen > 0 {
            k.0 += 1;
            k.1 += r.fen;
            (r.fen, 0)
        } else {
            k.2 += 1;
            k.3 += r.fen;
            (0, r.fen)
        };
        let counterparty = if r.fee { "" } else { SANDBOX_BUYER_LOGON_ID };
        self.line.clear();
        let _ = write!(
            self.line,
            "{}{seq:06}\t,{}\t,{}\t,{}\t,{},{counterparty}\t,{},{},{},支付宝,{kind},",
            china_date(r.at_ms).replace('-', ""),
            r.trade_no,
            r.out_trade_no,
            field(r.subject),
            china_time(r.at_ms),
            yuan(inc),
            yuan(out),
            yuan(self.balance),
        );
        if !remark.is_empty() {
            let _ = write!(self.line, "{remark}[{}]", r.trade_no);
        }
        self.line.push('\n');
        self.out.write_all(&gbk(&self.line))
    }

    /// Writes the end marker, the totals lines and the export time; hands back `out` and the
    /// totals.
    ///
    /// # Errors
    /// Writing to `out` failed.
    pub fn finish(mut self, now_ms: i64) -> std::io::Result<(W, AccountTotals)> {
        let (mut income, mut outgo) = ((0, 0), (0, 0));
        for k in self.totals.kinds {
            income = (income.0 + k.0, income.1 + k.1);
            outgo = (outgo.0 + k.2, outgo.1 + k.3);
        }
        let mut s = end_of("账务明细列表");
        let _ = writeln!(s, "#支出合计：{}笔，共{}元", outgo.0, yuan(outgo.1));
        let _ = writeln!(s, "#收入合计：{}笔，共{}元", income.0, yuan(income.1));
        s.push_str(&exported(now_ms));
        self.out.write_all(&gbk(&s))?;
        Ok((self.out, self.totals))
    }
}

/// `账务明细`: every movement of the balance in the period, then the totals; GBK.
pub(crate) fn account_detail(
    all: &[Movement<'_>],
    period: &Period<'_>,
    now_ms: i64,
) -> std::io::Result<(Vec<u8>, AccountTotals)> {
    let entries = entries(all);
    // Dates of a shape compare like the days they are; a day of the period is not before it.
    let (mut opening, mut lines_before) = (0, 0);
    for e in entries
        .iter()
        .take_while(|e| china_date(e.m.at_ms).as_str() < period.bill_date)
    {
        opening += e.fen;
        lines_before += 1;
    }
    let mut detail = AccountDetailWriter::new(Vec::new(), period, opening, lines_before)?;
    for e in entries.iter().filter(|e| period.contains(e.m.at_ms)) {
        let t = e.m.trade;
        detail.row(&AccountDetailRow {
            trade_no: &t.trade_no,
            out_trade_no: &t.out_trade_no,
            subject: &t.subject,
            at_ms: e.m.at_ms,
            refund: e.m.refund.is_some(),
            fee: e.fee,
            fen: e.fen,
        })?;
    }
    detail.finish(now_ms)
}

/// `账务明细(汇总)`: per 类型 and in total.
#[must_use]
pub fn account_summary(t: &AccountTotals, period: &Period<'_>, now_ms: i64) -> String {
    let mut s = preamble("支付宝账务汇总查询", "账务汇总列表", period);
    s.push_str("类型,收入笔数,收入金额（+元）,支出笔数,支出金额（-元）\n");
    let mut total = (0, 0, 0, 0);
    for (name, k) in ["在线支付", "交易退款", "收费"].iter().zip(t.kinds) {
        if k == (0, 0, 0, 0) {
            continue;
        }
        let _ = writeln!(s, "{name},{},{},{},{}", k.0, yuan(k.1), k.2, yuan(k.3));
        total = (total.0 + k.0, total.1 + k.1, total.2 + k.2, total.3 + k.3);
    }
    let _ = writeln!(
        s,
        "合计,{},{},{},{}",
        total.0,
        yuan(total.1),
        total.2,
        yuan(total.3)
    );
    s.push_str(&end_of("账务汇总列表"));
    s.push_str(&exported(now_ms));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_round_half_up_to_the_fen() {
        assert_eq!(fee_on(1), 0);
        assert_eq!(fee_on(10_000), 60);
        assert_eq!(fee_on(12_345), 74); // 74.07
        assert_eq!(fee_on(9_250), 56); // 55.5 rounds up
    }
}
