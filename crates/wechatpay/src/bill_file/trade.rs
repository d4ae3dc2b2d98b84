//! The trade bill (交易账单): payments and refunds of one day, then their totals.

use std::io::BufRead;

use time::OffsetDateTime;

use super::lines::{
    AmountKind, BillFileError, BillProblem, Line, Yuan, add, china_time, column, count,
    data_fields, fen, optional_column,
};
use super::sections::{Section, Sections};

/// What a detail row records (交易状态).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TradeBillStatus {
    /// `SUCCESS`: a payment.
    Success,
    /// `REFUND`: a refund accepted that day.
    Refund,
    /// `REVOKED`: a payment revoked after it succeeded.
    Revoked,
    /// Anything else, as written.
    Other(String),
}

/// A refund's status when the bill was made (退款状态); not updated afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillRefundStatus {
    Success,
    Processing,
    /// Anything else, as written.
    Other(String),
}

/// One detail row. Amounts are fen; times are China time as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeBillRow {
    /// The row's line in the file.
    pub line: u64,
    /// 交易时间: the payment's time, or the refund's acceptance time (in a REFUND bill, the
    /// order's payment time).
    pub trade_time: OffsetDateTime,
    /// 公众账号ID.
    pub appid: String,
    /// 商户号.
    pub mchid: String,
    /// 特约商户号; `None` where the bill writes `0` (a direct merchant).
    pub sub_mchid: Option<String>,
    /// 设备号, empty when none was given.
    pub device_info: String,
    /// 微信订单号.
    pub transaction_id: String,
    /// 商户订单号.
    pub out_trade_no: String,
    /// 用户标识 (openid).
    pub openid: String,
    /// 交易类型 as written (`JSAPI`, `NATIVE`, `APP`, `MWEB`, `MICROPAY`, …).
    pub trade_type: String,
    /// 交易状态.
    pub status: TradeBillStatus,
    /// 付款银行.
    pub bank_type: String,
    /// 货币种类.
    pub currency: String,
    /// 应结订单金额: the order less 免充值 coupons; 0 on a refund row.
    pub settlement_total: i64,
    /// 代金券金额.
    pub coupon: i64,
    /// The refund's fields, on a refund row (and on any row whose 微信退款单号 is not `0`).
    pub refund: Option<TradeBillRefund>,
    /// 商品名称, as written (WeChat escapes special characters in it).
    pub description: String,
    /// 商户数据包, as written.
    pub attach: String,
    /// 手续费: charged on a payment (positive), given back on a refund (negative).
    pub fee: i64,
    /// 费率 as written, `0.60%`.
    pub fee_rate: String,
    /// 订单金额; 0 on a refund row.
    pub total: i64,
    /// 费率备注.
    pub fee_note: String,
}

/// A refund row's own fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeBillRefund {
    /// 微信退款单号.
    pub refund_id: String,
    /// 商户退款单号.
    pub out_refund_no: String,
    /// 退款金额: the refund less 免充值 coupons.
    pub settlement_refund: i64,
    /// 充值券退款金额.
    pub recharge_coupon_refund: i64,
    /// 退款类型 as written (`ORIGINAL`, …).
    pub refund_type: String,
    /// 退款状态.
    pub status: BillRefundStatus,
    /// 申请退款金额: what the merchant asked to refund.
    pub requested: i64,
    /// 退款申请时间 (REFUND bills only).
    pub applied_at: Option<OffsetDateTime>,
    /// 退款成功时间 (REFUND bills only; `None` while it has not succeeded).
    pub succeeded_at: Option<OffsetDateTime>,
}

/// The summary row, already checked against the detail rows. The refund totals are `None` in a
/// SUCCESS bill, which has no such columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeBillSummary {
    /// 总交易单数: detail rows, payments and refunds.
    pub rows: u64,
    /// 应结订单总金额.
    pub settlement_total: i64,
    /// 退款总金额.
    pub settlement_refund: Option<i64>,
    /// 充值券退款总金额.
    pub recharge_coupon_refund: Option<i64>,
    /// 手续费总金额 (signed).
    pub fee: i64,
    /// 订单总金额.
    pub total: i64,
    /// 申请退款总金额.
    pub requested_refund: Option<i64>,
}

/// Reads a trade bill one row at a time.
pub struct TradeBillReader<R> {
    sections: Sections<R>,
    columns: Columns,
    sums: Sums,
    summary: Option<TradeBillSummary>,
}

impl<R: BufRead> TradeBillReader<R> {
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

    /// The next detail row; `Ok(None)` once the summary has been read and agrees with the rows.
    ///
    /// # Errors
    /// The first problem in the file, with its line; every later call fails too.
    pub fn next_row(&mut self) -> Result<Option<TradeBillRow>, BillFileError> {
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
    pub fn summary(&self) -> Option<&TradeBillSummary> {
        self.summary.as_ref()
    }
}

impl<R: BufRead> Iterator for TradeBillReader<R> {
    type Item = Result<TradeBillRow, BillFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_row().transpose()
    }
}

const COUNT: &str = "总交易单数";

struct Columns {
    names: Vec<String>,
    trade_time: usize,
    appid: usize,
    mchid: usize,
    sub_mchid: usize,
    device_info: usize,
    transaction_id: usize,
    out_trade_no: usize,
    openid: usize,
    trade_type: usize,
    status: usize,
    bank_type: usize,
    currency: usize,
    settlement_total: usize,
    coupon: usize,
    description: usize,
    attach: usize,
    fee: usize,
    fee_rate: usize,
    total: usize,
    fee_note: usize,
    refund: Option<RefundColumns>,
}

struct RefundColumns {
    refund_id: usize,
    out_refund_no: usize,
    settlement_refund: usize,
    recharge_coupon_refund: usize,
    refund_type: usize,
    status: usize,
    requested: usize,
    applied_at: Option<usize>,
    succeeded_at: Option<usize>,
}

impl Columns {
    fn find(names: Vec<String>, header: &Line) -> Result<Self, BillFileError> {
        let at = |name| column(&names, name, header);
        // SUCCESS bills have no refund columns at all; where 微信退款单号 is, the others must be.
        let refund = match optional_column(&names, "微信退款单号") {
            None => None,
            Some(refund_id) => Some(RefundColumns {
                refund_id,
                out_refund_no: at("商户退款单号")?,
                settlement_refund: at("退款金额")?,
                recharge_coupon_refund: at("充值券退款金额")?,
                refund_type: at("退款类型")?,
                status: at("退款状态")?,
                requested: at("申请退款金额")?,
                applied_at: optional_column(&names, "退款申请时间"),
                succeeded_at: optional_column(&names, "退款成功时间"),
            }),
        };
        Ok(Self {
            trade_time: at("交易时间")?,
            appid: at("公众账号ID")?,
            mchid: at("商户号")?,
            sub_mchid: at("特约商户号")?,
            device_info: at("设备号")?,
            transaction_id: at("微信订单号")?,
            out_trade_no: at("商户订单号")?,
            openid: at("用户标识")?,
            trade_type: at("交易类型")?,
            status: at("交易状态")?,
            bank_type: at("付款银行")?,
            currency: at("货币种类")?,
            settlement_total: at("应结订单金额")?,
            coupon: at("代金券金额")?,
            description: at("商品名称")?,
            attach: at("商户数据包")?,
            fee: at("手续费")?,
            fee_rate: at("费率")?,
            total: at("订单金额")?,
            fee_note: at("费率备注")?,
            refund,
            names,
        })
    }

    fn row(&self, line: &Line) -> Result<TradeBillRow, BillFileError> {
        let f = data_fields(line, &self.names)?;
        let text = |i: usize| f[i].to_owned();
        let amount = |i: usize, kind| fen(f[i], kind, &self.names[i], line);
        let status = match f[self.status] {
            "SUCCESS" => TradeBillStatus::Success,
            "REFUND" => TradeBillStatus::Refund,
            "REVOKED" => TradeBillStatus::Revoked,
            other => TradeBillStatus::Other(other.to_owned()),
        };
        let refund = match &self.refund {
            Some(r) => r.read(&f, &self.names, line, &status)?,
            None => None,
        };
        Ok(TradeBillRow {
            line: line.number,
            trade_time: china_time(f[self.trade_time], "交易时间", line)?,
            appid: text(self.appid),
            mchid: text(self.mchid),
            sub_mchid: match f[self.sub_mchid] {
                "0" | "" => None,
                sub => Some(sub.to_owned()),
            },
            device_info: text(self.device_info),
            transaction_id: text(self.transaction_id),
            out_trade_no: text(self.out_trade_no),
            openid: text(self.openid),
            trade_type: text(self.trade_type),
            status,
            bank_type: text(self.bank_type),
            currency: text(self.currency),
            settlement_total: amount(self.settlement_total, AmountKind::Plain)?,
            coupon: amount(self.coupon, AmountKind::Plain)?,
            refund,
            description: text(self.description),
            attach: text(self.attach),
            fee: amount(self.fee, AmountKind::Fee)?,
            fee_rate: text(self.fee_rate),
            total: amount(self.total, AmountKind::Plain)?,
            fee_note: text(self.fee_note),
        })
    }
}

impl RefundColumns {
    /// The refund part of a row: present on a REFUND row (which must name its refund), absent on
    /// a payment row, whose refund columns read `0`.
    fn read(
        &self,
        f: &[&str],
        names: &[String],
        line: &Line,
        status: &TradeBillStatus,
    ) -> Result<Option<TradeBillRefund>, BillFileError> {
        let refund_id = f[self.refund_id];
        if matches!(refund_id, "" | "0") {
            if *status == TradeBillStatus::Refund {
                return Err(line.err(BillProblem::BadValue {
                    column: names[self.refund_id].clone(),
                    value: refund_id.to_owned(),
                    reason: "a refund row without its refund id",
                }));
            }
            return Ok(None);
        }
        let amount = |i: usize| fen(f[i], AmountKind::Plain, &names[i], line);
        let time = |i: Option<usize>| match i.map(|i| (i, f[i])) {
            None | Some((_, "")) => Ok(None),
            Some((i, t)) => china_time(t, &names[i], line).map(Some),
        };
        Ok(Some(TradeBillRefund {
            refund_id: refund_id.to_owned(),
            out_refund_no: f[self.out_refund_no].to_owned(),
            settlement_refund: amount(self.settlement_refund)?,
            recharge_coupon_refund: amount(self.recharge_coupon_refund)?,
            refund_type: f[self.refund_type].to_owned(),
            status: match f[self.status] {
                "SUCCESS" => BillRefundStatus::Success,
                "PROCESSING" => BillRefundStatus::Processing,
                other => BillRefundStatus::Other(other.to_owned()),
            },
            requested: amount(self.requested)?,
            applied_at: time(self.applied_at)?,
            succeeded_at: time(self.succeeded_at)?,
        }))
    }
}

/// The detail rows' running totals, to check the summary against.
#[derive(Default)]
struct Sums {
    rows: u64,
    settlement_total: i64,
    settlement_refund: i64,
    recharge_coupon_refund: i64,
    fee: i64,
    total: i64,
    requested_refund: i64,
}

impl Sums {
    fn add(&mut self, row: &TradeBillRow, line: &Line) -> Result<(), BillFileError> {
        self.rows += 1;
        add(
            &mut self.settlement_total,
            row.settlement_total,
            "应结订单金额",
            line,
        )?;
        add(&mut self.fee, row.fee, "手续费", line)?;
        add(&mut self.total, row.total, "订单金额", line)?;
        if let Some(r) = &row.refund {
            add(
                &mut self.settlement_refund,
                r.settlement_refund,
                "退款金额",
                line,
            )?;
            add(
                &mut self.recharge_coupon_refund,
                r.recharge_coupon_refund,
                "充值券退款金额",
                line,
            )?;
            add(
                &mut self.requested_refund,
                r.requested,
                "申请退款金额",
                line,
            )?;
        }
        Ok(())
    }

    /// Reads the summary row and checks every total it has against the rows.
    fn check(
        &self,
        names: &[String],
        header: &Line,
        values: &Line,
    ) -> Result<TradeBillSummary, BillFileError> {
        let f = data_fields(values, names)?;
        let at = |name| column(names, name, header);
        let amount = |name: &'static str, kind| -> Result<(i64, &'static str), BillFileError> {
            Ok((fen(f[at(name)?], kind, name, values)?, name))
        };
        let optional = |name: &'static str| -> Result<Option<(i64, &'static str)>, BillFileError> {
            optional_column(names, name)
                .map(|i| Ok((fen(f[i], AmountKind::Plain, name, values)?, name)))
                .transpose()
        };
        let rows = count(f[at(COUNT)?], COUNT, values)?;
        if rows != self.rows {
            return Err(values.err(BillProblem::SummaryMismatch {
                column: COUNT,
                summary: rows.to_string(),
                rows: self.rows.to_string(),
            }));
        }
        let mismatch = |(summary, column): (i64, &'static str), rows: i64| {
            if summary == rows {
                Ok(summary)
            } else {
                Err(values.err(BillProblem::SummaryMismatch {
                    column,
                    summary: Yuan(summary).to_string(),
                    rows: Yuan(rows).to_string(),
                }))
            }
        };
        let checked =
            |v: Option<(i64, &'static str)>, rows| v.map(|v| mismatch(v, rows)).transpose();
        Ok(TradeBillSummary {
            rows,
            settlement_total: mismatch(
                amount("应结订单总金额", AmountKind::Plain)?,
                self.settlement_total,
            )?,
            settlement_refund: checked(optional("退款总金额")?, self.settlement_refund)?,
            recharge_coupon_refund: checked(
                optional("充值券退款总金额")?,
                self.recharge_coupon_refund,
            )?,
            fee: mismatch(amount("手续费总金额", AmountKind::Fee)?, self.fee)?,
            total: mismatch(amount("订单总金额", AmountKind::Plain)?, self.total)?,
            requested_refund: checked(optional("申请退款总金额")?, self.requested_refund)?,
        })
    }
}
