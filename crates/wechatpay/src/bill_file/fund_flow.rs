//! The fund-flow bill (资金账单): every change to one account's balance that day.

use std::io::BufRead;

use time::OffsetDateTime;

use super::lines::{
    AmountKind, BillFileError, BillProblem, Line, Yuan, add, china_time, column, count,
    data_fields, fen,
};
use super::sections::{Section, Sections};

/// 收支类型: which way the balance moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FundDirection {
    /// 收入.
    Income,
    /// 支出.
    Expense,
}

/// One change to the balance. Amounts are fen; the time is China time as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundFlowRow {
    /// The row's line in the file.
    pub line: u64,
    /// 记账时间: when the balance changed.
    pub booked_at: OffsetDateTime,
    /// 微信支付业务单号: WeChat Pay's id of the business (a transaction or refund id).
    pub business_id: String,
    /// 资金流水单号.
    pub flow_id: String,
    /// 业务名称 as written (交易, 退款, …).
    pub business_name: String,
    /// 业务类型 as written (交易, 扣除交易手续费, 退款, 退款关闭, 退还交易手续费, …).
    pub business_type: String,
    /// 收支类型.
    pub direction: FundDirection,
    /// 收支金额(元), never negative; `direction` says which way.
    pub amount: i64,
    /// 账户结余(元): the balance after this row.
    pub balance: i64,
    /// 资金变更提交申请人 (`system`, `…API`, a staff account), may be empty.
    pub applicant: String,
    /// 备注, as written.
    pub note: String,
    /// 业务凭证号: usually the merchant's own number (out_trade_no / out_refund_no).
    pub voucher_no: String,
}

/// The summary row, already checked against the detail rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundFlowSummary {
    /// 资金流水总笔数.
    pub rows: u64,
    /// 收入笔数.
    pub income_rows: u64,
    /// 收入金额.
    pub income: i64,
    /// 支出笔数.
    pub expense_rows: u64,
    /// 支出金额.
    pub expense: i64,
}

/// Reads a fund-flow bill one row at a time.
pub struct FundFlowBillReader<R> {
    sections: Sections<R>,
    columns: Columns,
    sums: Sums,
    summary: Option<FundFlowSummary>,
}

impl<R: BufRead> FundFlowBillReader<R> {
    /// Reads the header.
    ///
    /// # Errors
    /// An empty file, or a header without one of the columns this reader needs.
    pub fn new(input: R) -> Result<Self, BillFileError> {
        let (sections, header, names) = Sections::open(input)?;
        let columns = Columns::find(names, &header)?;
        Ok(Self {
            sections,
            columns,
            sums: Sums::default(),
            summary: None,
        })
    }

    /// The next row; `Ok(None)` once the summary has been read and agrees with the rows.
    ///
    /// # Errors
    /// The first problem in the file, with its line; every later call fails too.
    pub fn next_row(&mut self) -> Result<Option<FundFlowRow>, BillFileError> {
        let Self {
            sections,
            columns,
            sums,
            summary,
        } = self;
        sections.step(|s| match s.next_section(COUNT)? {
            Section::Row(line) => {
                let row = columns.row(&line)?;
                sums.add(&row, &line)?;
                Ok(Some(row))
            }
            Section::Summary {
                names,
                header,
                values,
            } => {
                *summary = Some(sums.check(&names, &header, &values)?);
                Ok(None)
            }
        })
    }

    /// The summary, once [`Self::next_row`] has returned `Ok(None)`.
    #[must_use]
    pub fn summary(&self) -> Option<&FundFlowSummary> {
        self.summary.as_ref()
    }
}

impl<R: BufRead> Iterator for FundFlowBillReader<R> {
    type Item = Result<FundFlowRow, BillFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_row().transpose()
    }
}

const COUNT: &str = "资金流水总笔数";

struct Columns {
    names: Vec<String>,
    booked_at: usize,
    business_id: usize,
    flow_id: usize,
    business_name: usize,
    business_type: usize,
    direction: usize,
    amount: usize,
    balance: usize,
    applicant: usize,
    note: usize,
    voucher_no: usize,
}

impl Columns {
    fn find(names: Vec<String>, header: &Line) -> Result<Self, BillFileError> {
        let at = |name| column(&names, name, header);
        Ok(Self {
            booked_at: at("记账时间")?,
            business_id: at("微信支付业务单号")?,
            flow_id: at("资金流水单号")?,
            business_name: at("业务名称")?,
            business_type: at("业务类型")?,
            direction: at("收支类型")?,
            amount: at("收支金额(元)")?,
            balance: at("账户结余(元)")?,
            applicant: at("资金变更提交申请人")?,
            note: at("备注")?,
            voucher_no: at("业务凭证号")?,
            names,
        })
    }

    fn row(&self, line: &Line) -> Result<FundFlowRow, BillFileError> {
        let f = data_fields(line, &self.names)?;
        let text = |i: usize| f[i].to_owned();
        let amount = |i: usize| fen(f[i], AmountKind::Plain, &self.names[i], line);
        let direction = match f[self.direction] {
            "收入" => FundDirection::Income,
            "支出" => FundDirection::Expense,
            // The summary adds rows up by direction: a row that is neither cannot be counted.
            other => {
                return Err(line.err(BillProblem::BadValue {
                    column: self.names[self.direction].clone(),
                    value: other.to_owned(),
                    reason: "neither 收入 nor 支出",
                }));
            }
        };
        Ok(FundFlowRow {
            line: line.number,
            booked_at: china_time(f[self.booked_at], "记账时间", line)?,
            business_id: text(self.business_id),
            flow_id: text(self.flow_id),
            business_name: text(self.business_name),
            business_type: text(self.business_type),
            direction,
            amount: amount(self.amount)?,
            balance: amount(self.balance)?,
            applicant: text(self.applicant),
            note: text(self.note),
            voucher_no: text(self.voucher_no),
        })
    }
}

#[derive(Default)]
struct Sums {
    rows: u64,
    income_rows: u64,
    income: i64,
    expense_rows: u64,
    expense: i64,
}

impl Sums {
    fn add(&mut self, row: &FundFlowRow, line: &Line) -> Result<(), BillFileError> {
        self.rows += 1;
        match row.direction {
            FundDirection::Income => {
                self.income_rows += 1;
                add(&mut self.income, row.amount, "收入金额", line)
            }
            FundDirection::Expense => {
                self.expense_rows += 1;
                add(&mut self.expense, row.amount, "支出金额", line)
            }
        }
    }

    fn check(
        &self,
        names: &[String],
        header: &Line,
        values: &Line,
    ) -> Result<FundFlowSummary, BillFileError> {
        let f = data_fields(values, names)?;
        let field = |name| column(names, name, header).map(|i| f[i]);
        let counted = |name: &'static str, rows: u64| {
            let summary = count(field(name)?, name, values)?;
            if summary == rows {
                Ok(summary)
            } else {
                Err(values.err(BillProblem::SummaryMismatch {
                    column: name,
                    summary: summary.to_string(),
                    rows: rows.to_string(),
                }))
            }
        };
        let summed = |name: &'static str, rows: i64| {
            let summary = fen(field(name)?, AmountKind::Plain, name, values)?;
            if summary == rows {
                Ok(summary)
            } else {
                Err(values.err(BillProblem::SummaryMismatch {
                    column: name,
                    summary: Yuan(summary).to_string(),
                    rows: Yuan(rows).to_string(),
                }))
            }
        };
        Ok(FundFlowSummary {
            rows: counted(COUNT, self.rows)?,
            income_rows: counted("收入笔数", self.income_rows)?,
            income: summed("收入金额", self.income)?,
            expense_rows: counted("支出笔数", self.expense_rows)?,
            expense: summed("支出金额", self.expense)?,
        })
    }
}
