//! The account bill (`bill_type=signcustomer`, 账务明细): every movement of the merchant's Alipay
//! balance (payments received, refunds paid, fees), its totals, and the summary entry
//! (账务明细(汇总)). The format is in `format.rs`.

use std::fs::File;
use std::path::Path;

use channel_core::Fen;
use time::PrimitiveDateTime;
use zip::read::ZipFile;

use super::format::{
    Archive, BillError, BillHeading, Cells, Header, LineProblem, Step, Table, check, is_entry,
    parse_totals,
};

const DETAIL: &str = "账务明细";

/// A downloaded `signcustomer` bill, opened from disk; like [`super::TradeBill`].
pub struct AccountBill {
    archive: Archive,
    detail: (usize, String),
    summary_entry: String,
    summary: AccountBillSummary,
}

impl AccountBill {
    /// Opens the zip Alipay serves for a `signcustomer` bill and reads its summary.
    ///
    /// # Errors
    /// As [`super::TradeBill::open`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, BillError> {
        let mut archive = Archive::open(path.as_ref())?;
        let detail = archive.find("账务明细 (detail)", |n| is_entry(n, DETAIL, false))?;
        let (index, summary_entry) = archive.find("账务明细(汇总) (summary)", |n| {
            is_entry(n, DETAIL, true)
        })?;
        let summary = read_summary(Table::start(
            archive.lines(index, &summary_entry)?,
            "列表结束",
        )?)?;
        Ok(Self {
            archive,
            detail,
            summary_entry,
            summary,
        })
    }

    #[must_use]
    pub fn detail_entry(&self) -> &str {
        &self.detail.1
    }

    #[must_use]
    pub fn summary_entry(&self) -> &str {
        &self.summary_entry
    }

    #[must_use]
    pub fn summary(&self) -> &AccountBillSummary {
        &self.summary
    }

    /// The detail rows in file order; like [`super::TradeBill::rows`], a cut-off entry or totals
    /// that disagree with the rows end the iteration with an error.
    ///
    /// # Errors
    /// As [`super::TradeBill::rows`].
    pub fn rows(&mut self) -> Result<AccountBillRows<'_>, BillError> {
        let (index, name) = self.detail.clone();
        let table = Table::start(self.archive.lines(index, &name)?, "账务明细列表结束")?;
        let columns = Columns::find(&table.header).map_err(|p| table.error(p))?;
        Ok(AccountBillRows {
            table,
            columns,
            counted: [Sum::default(), Sum::default()],
            income: None,
            outgo: None,
            totals: None,
            done: false,
        })
    }
}

/// 业务类型 of an account movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountEntryKind {
    /// `在线支付`: a payment received.
    Payment,
    /// `交易退款`: a refund paid back.
    Refund,
    /// `收费`: a fee charged (or, with income, returned).
    Fee,
    /// Anything else, as written (transfers, withdrawals, …).
    Other(String),
}

impl AccountEntryKind {
    fn parse(s: &str) -> Self {
        match s {
            "在线支付" => Self::Payment,
            "交易退款" => Self::Refund,
            "收费" => Self::Fee,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// One movement of the account. `income` is positive or zero, `outgo` negative or zero, as the
/// file writes them. The time is as written, China time (UTC+8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountBillRow {
    /// The line of the detail entry this row is on.
    pub line: u64,
    /// 账务流水号.
    pub entry_no: String,
    /// 业务流水号: the trade number for trade movements.
    pub biz_no: String,
    /// 商户订单号.
    pub out_trade_no: String,
    /// 商品名称.
    pub subject: String,
    /// 发生时间.
    pub occurred_at: PrimitiveDateTime,
    /// 对方账号.
    pub counterparty: String,
    /// 收入金额（+元）.
    pub income: Fen,
    /// 支出金额（-元）.
    pub outgo: Fen,
    /// 账户余额（元）: the balance after this movement.
    pub balance: Fen,
    /// 交易渠道.
    pub channel: String,
    /// 业务类型.
    pub kind: AccountEntryKind,
    /// 备注.
    pub remark: String,
}

/// One of the detail's totals lines (`#收入合计：N笔，共X元` or `#支出合计：…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountBillTotal {
    pub count: u64,
    pub amount: Fen,
}

/// The detail's totals, each checked against the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountBillTotals {
    /// `#收入合计`: rows with income, and its sum.
    pub income: AccountBillTotal,
    /// `#支出合计`: rows with outgo, and its sum.
    pub outgo: AccountBillTotal,
    pub heading: BillHeading,
}

/// The detail rows of an [`AccountBill`]; see [`AccountBill::rows`].
pub struct AccountBillRows<'a> {
    table: Table<ZipFile<'a, File>>,
    columns: Columns,
    /// Income, outgo.
    counted: [Sum; 2],
    income: Option<AccountBillTotal>,
    outgo: Option<AccountBillTotal>,
    totals: Option<AccountBillTotals>,
    done: bool,
}

#[derive(Default)]
struct Sum {
    count: u64,
    amount: i64,
}

impl Sum {
    fn add(&mut self, amount: Fen) {
        if amount.0 != 0 {
            self.count += 1;
            self.amount = self.amount.saturating_add(amount.0);
        }
    }
}

impl AccountBillRows<'_> {
    /// The detail's totals, once the iterator has ended cleanly.
    #[must_use]
    pub fn totals(&self) -> Option<&AccountBillTotals> {
        self.totals.as_ref()
    }

    fn advance(&mut self) -> Result<Option<AccountBillRow>, BillError> {
        loop {
            match self.table.step()? {
                Step::Row(fields) => {
                    let row = self
                        .columns
                        .row(&fields, self.table.lines.number())
                        .map_err(|p| self.table.error(p))?;
                    self.counted[0].add(row.income);
                    self.counted[1].add(row.outgo);
                    return Ok(Some(row));
                }
                Step::Footer(text) => {
                    if let Some(t) = parse_totals(&text, "收入合计") {
                        self.income = Some(total(t).map_err(|p| self.table.error(p))?);
                    } else if let Some(t) = parse_totals(&text, "支出合计") {
                        self.outgo = Some(total(t).map_err(|p| self.table.error(p))?);
                    }
                }
                Step::End => {
                    let totals = self.check().map_err(|p| self.table.error(p))?;
                    self.totals = Some(totals);
                    return Ok(None);
                }
            }
        }
    }

    fn check(&self) -> Result<AccountBillTotals, LineProblem> {
        let missing = LineProblem::Truncated("its 收入合计 and 支出合计 totals lines");
        let (Some(income), Some(outgo)) = (self.income, self.outgo) else {
            return Err(missing);
        };
        let [counted_in, counted_out] = &self.counted;
        check("收入合计 count", income.count, counted_in.count)?;
        check("收入合计 amount", income.amount, Fen(counted_in.amount))?;
        check("支出合计 count", outgo.count, counted_out.count)?;
        // Readers take the absolute value of 支出 sums; compare magnitudes so either way of writing
        // the stated total is accepted, while each row keeps its sign.
        check(
            "支出合计 amount",
            Fen(outgo.amount.0.saturating_abs()),
            Fen(counted_out.amount.saturating_abs()),
        )?;
        Ok(AccountBillTotals {
            income,
            outgo,
            heading: self.table.heading.clone(),
        })
    }
}

impl Iterator for AccountBillRows<'_> {
    type Item = Result<AccountBillRow, BillError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.advance() {
            Ok(Some(row)) => Some(Ok(row)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

fn total(parsed: Result<(u64, Vec<Fen>), LineProblem>) -> Result<AccountBillTotal, LineProblem> {
    let (count, amounts) = parsed?;
    match amounts.as_slice() {
        [amount, ..] => Ok(AccountBillTotal {
            count,
            amount: *amount,
        }),
        [] => Err(LineProblem::Totals(format!("{count}笔 without an amount"))),
    }
}

struct Columns {
    entry_no: usize,
    biz_no: Option<usize>,
    out_trade_no: usize,
    subject: Option<usize>,
    occurred_at: usize,
    counterparty: Option<usize>,
    income: usize,
    outgo: usize,
    balance: Option<usize>,
    channel: Option<usize>,
    kind: usize,
    remark: Option<usize>,
}

impl Columns {
    fn find(h: &Header) -> Result<Self, LineProblem> {
        Ok(Self {
            entry_no: h.require("账务流水号")?,
            biz_no: h.find("业务流水号"),
            out_trade_no: h.require("商户订单号")?,
            subject: h.find("商品名称"),
            occurred_at: h.require("发生时间")?,
            counterparty: h.find("对方账号"),
            income: h.require("收入金额（+元）")?,
            outgo: h.require("支出金额（-元）")?,
            balance: h.find("账户余额（元）"),
            channel: h.find("交易渠道"),
            kind: h.require("业务类型")?,
            remark: h.find("备注"),
        })
    }

    fn row(&self, fields: &[String], line: u64) -> Result<AccountBillRow, LineProblem> {
        let c = Cells { fields };
        Ok(AccountBillRow {
            line,
            entry_no: c.required(self.entry_no, "账务流水号")?,
            biz_no: c.opt_text(self.biz_no),
            out_trade_no: c.text(self.out_trade_no),
            subject: c.opt_text(self.subject),
            occurred_at: c.time(self.occurred_at, "发生时间")?,
            counterparty: c.opt_text(self.counterparty),
            income: c.opt_amount(Some(self.income), "收入金额（+元）")?,
            outgo: c.opt_amount(Some(self.outgo), "支出金额（-元）")?,
            balance: c.opt_amount(self.balance, "账户余额（元）")?,
            channel: c.opt_text(self.channel),
            kind: AccountEntryKind::parse(&c.text(self.kind)),
            remark: c.opt_text(self.remark),
        })
    }
}

/// The summary entry (账务明细(汇总)): one row per 类型 and the `合计` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountBillSummary {
    pub heading: BillHeading,
    /// One row per 类型 (在线支付, 交易退款, 收费, …), in file order.
    pub kinds: Vec<AccountSummaryRow>,
    /// The `合计` row.
    pub total: AccountSummaryRow,
}

/// A row of the account summary. Amounts carry the file's signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummaryRow {
    /// 类型 (`合计` on the total row).
    pub kind: String,
    /// 收入笔数.
    pub income_count: u64,
    /// 收入金额（+元）.
    pub income: Fen,
    /// 支出笔数.
    pub outgo_count: u64,
    /// 支出金额（-元）.
    pub outgo: Fen,
}

fn read_summary(mut table: Table<ZipFile<'_, File>>) -> Result<AccountBillSummary, BillError> {
    let h = &table.header;
    let find = || -> Result<[usize; 5], LineProblem> {
        Ok([
            h.require("类型")?,
            h.require("收入笔数")?,
            h.require("收入金额（+元）")?,
            h.require("支出笔数")?,
            h.require("支出金额（-元）")?,
        ])
    };
    let at = find().map_err(|p| table.error(p))?;
    let mut kinds = Vec::new();
    let mut total = None;
    loop {
        match table.step()? {
            Step::Row(fields) => {
                let row =
                    summary_row(&Cells { fields: &fields }, &at).map_err(|p| table.error(p))?;
                if row.kind == "合计" {
                    total = Some(row);
                } else {
                    kinds.push(row);
                }
            }
            Step::Footer(_) => {}
            Step::End => break,
        }
    }
    let total = total.ok_or_else(|| table.error(LineProblem::Truncated("its 合计 row")))?;
    Ok(AccountBillSummary {
        heading: table.heading.clone(),
        kinds,
        total,
    })
}

fn summary_row(c: &Cells<'_>, at: &[usize; 5]) -> Result<AccountSummaryRow, LineProblem> {
    Ok(AccountSummaryRow {
        kind: c.text(at[0]),
        income_count: c.count(at[1], "收入笔数")?,
        income: c.amount(at[2], "收入金额（+元）")?,
        outgo_count: c.count(at[3], "支出笔数")?,
        outgo: c.amount(at[4], "支出金额（-元）")?,
    })
}
