//! The trade bill (`bill_type=trade`, 业务明细): one row per payment or refund of the app's
//! trades, its totals, and the summary entry (业务明细(汇总)). The format is in `format.rs`.

use std::fs::File;
use std::path::Path;

use channel_core::Fen;
use time::PrimitiveDateTime;
use zip::read::ZipFile;

use super::format::{
    Archive, BillError, BillHeading, Cells, Header, LineProblem, Step, Table, check, is_entry,
    parse_totals,
};

const DETAIL: &str = "业务明细";

/// A downloaded trade bill, opened from disk. Its summary is read at once (a few lines); its
/// detail rows are read one at a time by [`TradeBill::rows`].
pub struct TradeBill {
    archive: Archive,
    detail: (usize, String),
    summary_entry: String,
    summary: TradeBillSummary,
}

impl TradeBill {
    /// Opens the zip Alipay serves for a trade bill and reads its summary.
    ///
    /// # Errors
    /// [`BillError::File`], [`BillError::NotZip`], [`BillError::MissingEntry`] /
    /// [`BillError::AmbiguousEntry`] when the detail or summary entry is not there exactly once, and
    /// [`BillError::Entry`] for a summary that does not read or is cut off.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, BillError> {
        let mut archive = Archive::open(path.as_ref())?;
        let detail = archive.find("业务明细 (detail)", |n| is_entry(n, DETAIL, false))?;
        let (index, summary_entry) = archive.find("业务明细(汇总) (summary)", |n| {
            is_entry(n, DETAIL, true)
        })?;
        let summary = read_summary(Table::start(
            archive.lines(index, &summary_entry)?,
            "业务汇总列表结束",
        )?)?;
        Ok(Self {
            archive,
            detail,
            summary_entry,
            summary,
        })
    }

    /// The detail entry's name, e.g. `20880211096256330156_20190916_业务明细.csv`.
    #[must_use]
    pub fn detail_entry(&self) -> &str {
        &self.detail.1
    }

    #[must_use]
    pub fn summary_entry(&self) -> &str {
        &self.summary_entry
    }

    #[must_use]
    pub fn summary(&self) -> &TradeBillSummary {
        &self.summary
    }

    /// The detail rows in file order, read as the entry is inflated. The last item is an error
    /// rather than `None` when the entry is cut off or its totals disagree with its rows, so a
    /// caller that sees the iterator end cleanly has read the whole bill.
    ///
    /// # Errors
    /// [`BillError::Entry`] when the entry cannot be opened or has no header line, or the header
    /// lacks a column this reader needs.
    pub fn rows(&mut self) -> Result<TradeBillRows<'_>, BillError> {
        let (index, name) = self.detail.clone();
        let table = Table::start(self.archive.lines(index, &name)?, "业务明细列表结束")?;
        let columns = Columns::find(&table.header).map_err(|p| table.error(p))?;
        Ok(TradeBillRows {
            table,
            columns,
            counted: Counted::default(),
            payments: None,
            refunds: None,
            totals: None,
            done: false,
        })
    }
}

/// 业务类型.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TradeBillKind {
    /// `交易`: a payment received.
    Payment,
    /// `退款`: a refund paid back.
    Refund,
    /// Anything else, as written.
    Other(String),
}

impl TradeBillKind {
    fn parse(s: &str) -> Self {
        match s {
            "交易" => Self::Payment,
            "退款" => Self::Refund,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// One detail row. Amounts are fen with the file's signs: a refund's amounts are negative, and so
/// is the fee charged on a payment (see `format.rs`). Times are as written, China time (UTC+8):
/// `assume_offset(time::macros::offset!(+8))` gives the instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeBillRow {
    /// The line of the detail entry this row is on.
    pub line: u64,
    /// 支付宝交易号.
    pub trade_no: String,
    /// 商户订单号.
    pub out_trade_no: String,
    /// 业务类型.
    pub kind: TradeBillKind,
    /// 商品名称.
    pub subject: String,
    /// 创建时间: the trade's creation (also on its refunds' rows).
    pub created_at: PrimitiveDateTime,
    /// 完成时间: when the payment or the refund completed.
    pub finished_at: PrimitiveDateTime,
    /// 门店编号.
    pub store_id: String,
    /// 门店名称.
    pub store_name: String,
    /// 操作员.
    pub operator: String,
    /// 终端号.
    pub terminal_id: String,
    /// 对方账户: the buyer's masked account.
    pub counterparty: String,
    /// 订单金额（元）.
    pub order_amount: Fen,
    /// 商家实收（元）: what the merchant received (negative: paid back).
    pub merchant_received: Fen,
    /// 支付宝红包（元）.
    pub alipay_red_packet: Fen,
    /// 集分宝（元）.
    pub jifenbao: Fen,
    /// 支付宝优惠（元）.
    pub alipay_discount: Fen,
    /// 商家优惠（元）.
    pub merchant_discount: Fen,
    /// 券核销金额（元）.
    pub coupon_redeemed: Fen,
    /// 券名称.
    pub coupon_name: String,
    /// 商家红包消费金额（元）.
    pub merchant_red_packet: Fen,
    /// 卡消费金额（元）.
    pub card_spent: Fen,
    /// 退款批次号/请求号: the refund's `out_request_no`; empty on a payment.
    pub out_request_no: String,
    /// 服务费（元）: Alipay's fee, negative when charged, positive when returned.
    pub service_fee: Fen,
    /// 分润（元）.
    pub profit_share: Fen,
    /// 备注.
    pub remark: String,
}

/// One of the detail's totals lines (`#交易合计：…` or `#退款合计：…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradeBillTotal {
    pub count: u64,
    /// The sum of 商家实收 (negative for refunds).
    pub merchant_received: Fen,
    /// The sum of 商家优惠.
    pub merchant_discount: Fen,
}

/// The detail's totals, each checked against the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeBillTotals {
    /// `#交易合计`.
    pub payments: TradeBillTotal,
    /// `#退款合计`; zero when the bill has no such line (then it has no refund rows either).
    pub refunds: TradeBillTotal,
    /// Account and period from the detail's preamble.
    pub heading: BillHeading,
}

/// The detail rows of a [`TradeBill`]; see [`TradeBill::rows`].
pub struct TradeBillRows<'a> {
    table: Table<ZipFile<'a, File>>,
    columns: Columns,
    counted: Counted,
    payments: Option<TradeBillTotal>,
    refunds: Option<TradeBillTotal>,
    totals: Option<TradeBillTotals>,
    done: bool,
}

impl TradeBillRows<'_> {
    /// The detail's totals, once the iterator has ended cleanly (all rows read and checked).
    #[must_use]
    pub fn totals(&self) -> Option<&TradeBillTotals> {
        self.totals.as_ref()
    }

    fn advance(&mut self) -> Result<Option<TradeBillRow>, BillError> {
        loop {
            match self.table.step()? {
                Step::Row(fields) => {
                    let row = self
                        .columns
                        .row(&fields, self.table.lines.number())
                        .map_err(|p| self.table.error(p))?;
                    self.counted.add(&row);
                    return Ok(Some(row));
                }
                Step::Footer(text) => {
                    if let Some(t) = parse_totals(&text, "交易合计") {
                        self.payments = Some(total(t).map_err(|p| self.table.error(p))?);
                    } else if let Some(t) = parse_totals(&text, "退款合计") {
                        self.refunds = Some(total(t).map_err(|p| self.table.error(p))?);
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

    fn check(&self) -> Result<TradeBillTotals, LineProblem> {
        let payments = self
            .payments
            .ok_or(LineProblem::Truncated("its 交易合计 totals line"))?;
        let refunds = self.refunds.unwrap_or(TradeBillTotal {
            count: 0,
            merchant_received: Fen(0),
            merchant_discount: Fen(0),
        });
        let c = &self.counted;
        check("交易合计 count", payments.count, c.payments.count)?;
        check(
            "交易合计 商家实收",
            payments.merchant_received,
            Fen(c.payments.merchant_received),
        )?;
        check(
            "交易合计 商家优惠",
            payments.merchant_discount,
            Fen(c.payments.merchant_discount),
        )?;
        check("退款合计 count", refunds.count, c.refunds.count)?;
        check(
            "退款合计 商家实收",
            refunds.merchant_received,
            Fen(c.refunds.merchant_received),
        )?;
        check(
            "退款合计 商家优惠",
            refunds.merchant_discount,
            Fen(c.refunds.merchant_discount),
        )?;
        Ok(TradeBillTotals {
            payments,
            refunds,
            heading: self.table.heading.clone(),
        })
    }
}

impl Iterator for TradeBillRows<'_> {
    type Item = Result<TradeBillRow, BillError>;

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

fn total(parsed: Result<(u64, Vec<Fen>), LineProblem>) -> Result<TradeBillTotal, LineProblem> {
    let (count, amounts) = parsed?;
    match amounts.as_slice() {
        [received, discount, ..] => Ok(TradeBillTotal {
            count,
            merchant_received: *received,
            merchant_discount: *discount,
        }),
        _ => Err(LineProblem::Totals(format!(
            "{count}笔 with {} amounts",
            amounts.len()
        ))),
    }
}

/// What the rows add up to, to compare with the totals lines.
#[derive(Default)]
struct Counted {
    payments: Sum,
    refunds: Sum,
}

#[derive(Default)]
struct Sum {
    count: u64,
    merchant_received: i64,
    merchant_discount: i64,
}

impl Counted {
    fn add(&mut self, row: &TradeBillRow) {
        let sum = match row.kind {
            TradeBillKind::Payment => &mut self.payments,
            TradeBillKind::Refund => &mut self.refunds,
            TradeBillKind::Other(_) => return,
        };
        sum.count += 1;
        sum.merchant_received = sum
            .merchant_received
            .saturating_add(row.merchant_received.0);
        sum.merchant_discount = sum
            .merchant_discount
            .saturating_add(row.merchant_discount.0);
    }
}

/// Where the detail's columns are. Those reconciliation cannot do without are required.
struct Columns {
    trade_no: usize,
    out_trade_no: usize,
    kind: usize,
    created_at: usize,
    finished_at: usize,
    order_amount: usize,
    merchant_received: usize,
    out_request_no: usize,
    service_fee: usize,
    subject: Option<usize>,
    store_id: Option<usize>,
    store_name: Option<usize>,
    operator: Option<usize>,
    terminal_id: Option<usize>,
    counterparty: Option<usize>,
    alipay_red_packet: Option<usize>,
    jifenbao: Option<usize>,
    alipay_discount: Option<usize>,
    merchant_discount: Option<usize>,
    coupon_redeemed: Option<usize>,
    coupon_name: Option<usize>,
    merchant_red_packet: Option<usize>,
    card_spent: Option<usize>,
    profit_share: Option<usize>,
    remark: Option<usize>,
}

impl Columns {
    fn find(h: &Header) -> Result<Self, LineProblem> {
        Ok(Self {
            trade_no: h.require("支付宝交易号")?,
            out_trade_no: h.require("商户订单号")?,
            kind: h.require("业务类型")?,
            created_at: h.require("创建时间")?,
            finished_at: h.require("完成时间")?,
            order_amount: h.require("订单金额（元）")?,
            merchant_received: h.require("商家实收（元）")?,
            out_request_no: h.require("退款批次号/请求号")?,
            service_fee: h.require("服务费（元）")?,
            subject: h.find("商品名称"),
            store_id: h.find("门店编号"),
            store_name: h.find("门店名称"),
            operator: h.find("操作员"),
            terminal_id: h.find("终端号"),
            counterparty: h.find("对方账户"),
            alipay_red_packet: h.find("支付宝红包（元）"),
            jifenbao: h.find("集分宝（元）"),
            alipay_discount: h.find("支付宝优惠（元）"),
            merchant_discount: h.find("商家优惠（元）"),
            coupon_redeemed: h.find("券核销金额（元）"),
            coupon_name: h.find("券名称"),
            merchant_red_packet: h.find("商家红包消费金额（元）"),
            card_spent: h.find("卡消费金额（元）"),
            profit_share: h.find("分润（元）"),
            remark: h.find("备注"),
        })
    }

    fn row(&self, fields: &[String], line: u64) -> Result<TradeBillRow, LineProblem> {
        let c = Cells { fields };
        Ok(TradeBillRow {
            line,
            trade_no: c.required(self.trade_no, "支付宝交易号")?,
            out_trade_no: c.text(self.out_trade_no),
            kind: TradeBillKind::parse(&c.required(self.kind, "业务类型")?),
            subject: c.opt_text(self.subject),
            created_at: c.time(self.created_at, "创建时间")?,
            finished_at: c.time(self.finished_at, "完成时间")?,
            store_id: c.opt_text(self.store_id),
            store_name: c.opt_text(self.store_name),
            operator: c.opt_text(self.operator),
            terminal_id: c.opt_text(self.terminal_id),
            counterparty: c.opt_text(self.counterparty),
            order_amount: c.amount(self.order_amount, "订单金额（元）")?,
            merchant_received: c.amount(self.merchant_received, "商家实收（元）")?,
            alipay_red_packet: c.opt_amount(self.alipay_red_packet, "支付宝红包（元）")?,
            jifenbao: c.opt_amount(self.jifenbao, "集分宝（元）")?,
            alipay_discount: c.opt_amount(self.alipay_discount, "支付宝优惠（元）")?,
            merchant_discount: c.opt_amount(self.merchant_discount, "商家优惠（元）")?,
            coupon_redeemed: c.opt_amount(self.coupon_redeemed, "券核销金额（元）")?,
            coupon_name: c.opt_text(self.coupon_name),
            merchant_red_packet: c
                .opt_amount(self.merchant_red_packet, "商家红包消费金额（元）")?,
            card_spent: c.opt_amount(self.card_spent, "卡消费金额（元）")?,
            out_request_no: c.text(self.out_request_no),
            service_fee: c.opt_amount(Some(self.service_fee), "服务费（元）")?,
            profit_share: c.opt_amount(self.profit_share, "分润（元）")?,
            remark: c.opt_text(self.remark),
        })
    }
}

/// The summary entry (业务明细(汇总)): per store and in total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeBillSummary {
    /// Account and period from the summary's preamble.
    pub heading: BillHeading,
    /// One row per store (门店), in file order.
    pub stores: Vec<TradeSummaryRow>,
    /// The `合计` row.
    pub total: TradeSummaryRow,
}

/// A row of the summary. Amounts carry the file's signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeSummaryRow {
    /// 门店编号 (`合计` on the total row).
    pub store_id: String,
    /// 门店名称.
    pub store_name: String,
    /// 交易订单总笔数.
    pub payment_count: u64,
    /// 退款订单总笔数.
    pub refund_count: u64,
    /// 订单金额（元）.
    pub order_amount: Fen,
    /// 商家实收（元）.
    pub merchant_received: Fen,
    /// 支付宝优惠（元）.
    pub alipay_discount: Fen,
    /// 商家优惠（元）.
    pub merchant_discount: Fen,
    /// 卡消费金额（元）.
    pub card_spent: Fen,
    /// 服务费（元）.
    pub service_fee: Fen,
    /// 分润（元）.
    pub profit_share: Fen,
    /// 实收净额（元）.
    pub net_received: Fen,
}

fn read_summary(mut table: Table<ZipFile<'_, File>>) -> Result<TradeBillSummary, BillError> {
    let h = &table.header;
    let find = || -> Result<[usize; 12], LineProblem> {
        Ok([
            h.require("门店编号")?,
            h.require("门店名称")?,
            h.require("交易订单总笔数")?,
            h.require("退款订单总笔数")?,
            h.require("订单金额（元）")?,
            h.require("商家实收（元）")?,
            h.require("支付宝优惠（元）")?,
            h.require("商家优惠（元）")?,
            h.require("卡消费金额（元）")?,
            h.require("服务费（元）")?,
            h.require("分润（元）")?,
            h.require("实收净额（元）")?,
        ])
    };
    let at = find().map_err(|p| table.error(p))?;
    let mut stores = Vec::new();
    let mut total = None;
    loop {
        match table.step()? {
            Step::Row(fields) => {
                let c = Cells { fields: &fields };
                let row = summary_row(&c, &at).map_err(|p| table.error(p))?;
                if row.store_id == "合计" {
                    total = Some(row);
                } else {
                    stores.push(row);
                }
            }
            Step::Footer(_) => {}
            Step::End => break,
        }
    }
    let total = total.ok_or_else(|| table.error(LineProblem::Truncated("its 合计 row")))?;
    Ok(TradeBillSummary {
        heading: table.heading.clone(),
        stores,
        total,
    })
}

fn summary_row(c: &Cells<'_>, at: &[usize; 12]) -> Result<TradeSummaryRow, LineProblem> {
    Ok(TradeSummaryRow {
        store_id: c.text(at[0]),
        store_name: c.text(at[1]),
        payment_count: c.count(at[2], "交易订单总笔数")?,
        refund_count: c.count(at[3], "退款订单总笔数")?,
        order_amount: c.amount(at[4], "订单金额（元）")?,
        merchant_received: c.amount(at[5], "商家实收（元）")?,
        alipay_discount: c.amount(at[6], "支付宝优惠（元）")?,
        merchant_discount: c.amount(at[7], "商家优惠（元）")?,
        card_spent: c.amount(at[8], "卡消费金额（元）")?,
        service_fee: c.amount(at[9], "服务费（元）")?,
        profit_share: c.amount(at[10], "分润（元）")?,
        net_received: c.amount(at[11], "实收净额（元）")?,
    })
}
