//! Bills written out by hand in WeChat Pay's format (shapes taken from the official PHP SDK's test
//! bill and WeChat's format pages), read back row by row.

use std::io::Cursor;

use time::macros::datetime;

use super::*;

const ALL_HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";
const ALL_SUMMARY_HEADER: &str =
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额";
const PAYMENT: &str = "`2024-03-05 10:15:00,`wxab8acb865bb11234,`1900000109,`0,`,`4200000263202403057700134212,`T20240305001,`oHkLxtx0vUqe18p,`NATIVE,`SUCCESS,`OTHERS,`CNY,`29.90,`0.00,`0,`0,`0.00,`0.00,`,`,`T-shirt,`gift,`0.18000,`0.60%,`29.90,`0.00,`";
const SECOND_PAYMENT: &str = "`2024-03-05 11:00:00,`wxab8acb865bb11234,`1900000109,`0,`,`4200000263202403057700134213,`T20240305002,`oHkLxtx0vUqe18q,`JSAPI,`SUCCESS,`CMB_DEBIT,`CNY,`260.00,`0.00,`0,`0,`0.00,`0.00,`,`,`Shoes,`,`1.56000,`0.60%,`260.00,`0.00,`";
const REFUND: &str = "`2024-03-05 18:30:00,`wxab8acb865bb11234,`1900000109,`0,`,`4200000263202403057700134213,`T20240305002,`oHkLxtx0vUqe18q,`JSAPI,`REFUND,`CMB_DEBIT,`CNY,`0.00,`0.00,`50300806962024030505978994968,`R20240305002,`100.00,`0.00,`ORIGINAL,`SUCCESS,`Shoes,`,`-0.60000,`0.60%,`0.00,`100.00,`";
const ALL_SUMMARY: &str = "`3,`289.90,`100.00,`0.00,`1.14000,`289.90,`100.00";

fn all_bill(line_end: &str) -> String {
    [
        ALL_HEADER,
        PAYMENT,
        SECOND_PAYMENT,
        REFUND,
        ALL_SUMMARY_HEADER,
        ALL_SUMMARY,
    ]
    .map(|l| format!("{l}{line_end}"))
    .concat()
}

fn read_trade(text: &str) -> Result<(Vec<TradeBillRow>, TradeBillSummary), BillFileError> {
    let mut bill = TradeBillReader::new(Cursor::new(text.as_bytes().to_vec()))?;
    let mut rows = Vec::new();
    while let Some(row) = bill.next_row()? {
        rows.push(row);
    }
    let summary = bill
        .summary()
        .cloned()
        .expect("a summary after the last row");
    Ok((rows, summary))
}

fn trade_error(text: &str) -> BillFileError {
    read_trade(text).expect_err("the bill should be refused")
}

#[test]
fn an_all_bill_reads_as_payments_then_a_refund_with_its_fee_given_back() {
    let (rows, summary) = read_trade(&all_bill("\n")).unwrap();
    assert_eq!(rows.len(), 3);

    let paid = &rows[0];
    assert_eq!(paid.line, 2);
    assert_eq!(paid.trade_time, datetime!(2024-03-05 10:15:00 +08:00));
    assert_eq!(paid.appid, "wxab8acb865bb11234");
    assert_eq!(paid.mchid, "1900000109");
    assert_eq!(paid.sub_mchid, None);
    assert_eq!(paid.device_info, "");
    assert_eq!(paid.transaction_id, "4200000263202403057700134212");
    assert_eq!(paid.out_trade_no, "T20240305001");
    assert_eq!(paid.openid, "oHkLxtx0vUqe18p");
    assert_eq!(paid.trade_type, "NATIVE");
    assert_eq!(paid.status, TradeBillStatus::Success);
    assert_eq!(paid.bank_type, "OTHERS");
    assert_eq!(paid.currency, "CNY");
    assert_eq!(
        (paid.settlement_total, paid.total, paid.coupon),
        (2990, 2990, 0)
    );
    assert_eq!(paid.refund, None);
    assert_eq!(
        (paid.description.as_str(), paid.attach.as_str()),
        ("T-shirt", "gift")
    );
    assert_eq!((paid.fee, paid.fee_rate.as_str()), (18, "0.60%"));
    assert_eq!(paid.fee_note, "");

    let refund = &rows[2];
    assert_eq!(refund.status, TradeBillStatus::Refund);
    assert_eq!(refund.out_trade_no, "T20240305002");
    assert_eq!((refund.settlement_total, refund.total), (0, 0));
    assert_eq!(refund.fee, -60, "the fee given back is negative");
    let r = refund.refund.as_ref().unwrap();
    assert_eq!(r.refund_id, "50300806962024030505978994968");
    assert_eq!(r.out_refund_no, "R20240305002");
    assert_eq!(
        (r.settlement_refund, r.requested, r.recharge_coupon_refund),
        (10000, 10000, 0)
    );
    assert_eq!(r.refund_type, "ORIGINAL");
    assert_eq!(r.status, BillRefundStatus::Success);
    assert_eq!((r.applied_at, r.succeeded_at), (None, None));

    assert_eq!(
        summary,
        TradeBillSummary {
            rows: 3,
            settlement_total: 28990,
            settlement_refund: Some(10000),
            recharge_coupon_refund: Some(0),
            fee: 114,
            total: 28990,
            requested_refund: Some(10000),
        }
    );
}

#[test]
fn crlf_line_ends_a_byte_order_mark_and_blank_lines_change_nothing() {
    let plain = read_trade(&all_bill("\n")).unwrap();
    let windows = format!("\u{feff}{}\r\n", all_bill("\r\n"));
    assert_eq!(read_trade(&windows).unwrap(), plain);
}

#[test]
fn columns_are_found_by_name_so_a_new_or_moved_column_is_harmless() {
    // 费率备注 moved to the front, and a column this reader does not know added at the end.
    let move_first = |line: &str, extra: &str| {
        let mut cells: Vec<&str> = line.split(',').collect();
        let last = cells.pop().unwrap();
        cells.insert(0, last);
        cells.push(extra);
        cells.join(",")
    };
    let text = [
        move_first(ALL_HEADER, "结算状态"),
        move_first(PAYMENT, "`SUCCESS"),
        move_first(SECOND_PAYMENT, "`SUCCESS"),
        move_first(REFUND, "`SUCCESS"),
        ALL_SUMMARY_HEADER.to_owned(),
        ALL_SUMMARY.to_owned(),
    ]
    .join("\n");
    assert_eq!(
        read_trade(&text).unwrap(),
        read_trade(&all_bill("\n")).unwrap()
    );
}

#[test]
fn a_comma_inside_a_value_is_refused_as_the_format_has_no_quoting() {
    // WeChat never quotes a field (it escapes the merchant's text instead), so a quoted comma is
    // two fields, and the second one has no backtick.
    let quoted = PAYMENT.replace("`T-shirt", "\"`T-shirt, blue\"");
    let e = trade_error(&all_bill("\n").replace(PAYMENT, &quoted));
    assert_eq!(e.line, 2);
    assert!(
        matches!(
            e.problem,
            BillProblem::ColumnCount {
                expected: 27,
                found: 28
            }
        ),
        "{e}"
    );
}

#[test]
fn a_field_without_its_backtick_is_named() {
    let text = all_bill("\n").replace("`T20240305001", "T20240305001");
    let e = trade_error(&text);
    assert_eq!(e.line, 2);
    assert!(
        matches!(&e.problem, BillProblem::MissingBacktick { column } if column == "商户订单号"),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "bill line 2: field 商户订单号 does not start with a backtick"
    );
}

#[test]
fn amounts_are_read_exactly_and_a_third_decimal_is_refused() {
    let e = trade_error(&all_bill("\n").replace("`29.90,`0.00,`0,`0", "`29.905,`0.00,`0,`0"));
    assert_eq!(e.line, 2);
    assert!(
        matches!(&e.problem, BillProblem::BadValue { column, value, .. } if column == "应结订单金额" && value == "29.905"),
        "{e}"
    );
    // A fee is written with five decimals but is a whole number of fen.
    let e = trade_error(&all_bill("\n").replace("`0.18000", "`0.17940"));
    assert!(
        matches!(&e.problem, BillProblem::BadValue { reason, .. } if *reason == "not a whole number of fen"),
        "{e}"
    );
    for bad in [
        "`-29.90",
        "`29,90",
        "`1e3",
        "`.50",
        "`29.",
        "` 29.90",
        "`99999999999999999999.00",
    ] {
        let e = trade_error(
            &all_bill("\n").replace("`29.90,`0.00,`0,`0", &format!("{bad},`0.00,`0,`0")),
        );
        assert_eq!(e.line, 2, "{bad}: {e}");
    }
}

#[test]
fn a_file_that_ends_before_its_summary_is_an_error_not_a_shorter_bill() {
    let whole = all_bill("\n");
    let cut = |lines: usize| whole.lines().take(lines).collect::<Vec<_>>().join("\n");

    let mut bill = TradeBillReader::new(Cursor::new(cut(3))).unwrap();
    assert!(bill.next_row().unwrap().is_some());
    assert!(bill.next_row().unwrap().is_some());
    let e = bill.next_row().unwrap_err();
    assert_eq!(e.line, 3);
    assert!(
        matches!(
            e.problem,
            BillProblem::Truncated {
                missing: "its summary"
            }
        ),
        "{e}"
    );
    assert!(bill.summary().is_none());
    // Asking again does not turn the broken bill into a finished one.
    assert!(matches!(
        bill.next_row().unwrap_err().problem,
        BillProblem::AlreadyFailed
    ));
    assert!(bill.next().is_some_and(|r| r.is_err()));

    let e = trade_error(&cut(5));
    assert!(
        matches!(
            e.problem,
            BillProblem::Truncated {
                missing: "the summary row"
            }
        ),
        "{e}"
    );
    // A row cut in the middle has too few fields.
    let e = trade_error(&whole[..whole.find("`1.56000").unwrap()]);
    assert_eq!(e.line, 3);
    assert!(
        matches!(e.problem, BillProblem::ColumnCount { expected: 27, .. }),
        "{e}"
    );

    let e = trade_error("");
    assert_eq!(e.line, 0);
    assert!(matches!(e.problem, BillProblem::Empty));
}

#[test]
fn a_summary_that_does_not_match_the_rows_is_refused_at_its_line() {
    let e = trade_error(&all_bill("\n").replace("`1.14000", "`1.74000"));
    assert_eq!(e.line, 6);
    assert_eq!(
        e.to_string(),
        "bill line 6: the summary says 手续费总金额 is 1.74 but the rows add up to 1.14"
    );
    let e = trade_error(&all_bill("\n").replace("`3,`289.90", "`2,`289.90"));
    assert!(
        matches!(
            e.problem,
            BillProblem::SummaryMismatch {
                column: "总交易单数",
                ..
            }
        ),
        "{e}"
    );
    let e = trade_error(&all_bill("\n").replace("`100.00,`0.00,`1.14", "`99.00,`0.00,`1.14"));
    assert!(
        matches!(
            e.problem,
            BillProblem::SummaryMismatch {
                column: "退款总金额",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn nothing_may_follow_the_summary_row() {
    let text = format!("{}`4,`0.00\n", all_bill("\n"));
    let e = trade_error(&text);
    assert_eq!(e.line, 7);
    assert!(
        matches!(e.problem, BillProblem::UnexpectedLine { .. }),
        "{e}"
    );
}

#[test]
fn summaries_written_with_one_decimal_are_read() {
    // As in the official PHP SDK's test bill: `45.0,`0.47,`0.14,`0.0,`0.08,…
    let text = all_bill("\n").replace(ALL_SUMMARY, "`3.0,`289.9,`100.0,`0.0,`1.14,`289.90,`100.00");
    assert_eq!(read_trade(&text).unwrap().1.rows, 3);
}

#[test]
fn a_success_bill_has_no_refund_columns_and_a_shorter_summary() {
    let header = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注";
    let row = "`2024-03-05 10:15:00,`wxab8acb865bb11234,`1900000109,`1900000201,`POS-7,`4200000263202403057700134212,`T20240305001,`oHkLxtx0vUqe18p,`MICROPAY,`SUCCESS,`OTHERS,`CNY,`6.00,`0.00,`Coffee,`,`0.04000,`0.60%,`6.00,`";
    let text = format!(
        "{header}\n{row}\n总交易单数,应结订单总金额,手续费总金额,订单总金额\n`1,`6.00,`0.04000,`6.00\n"
    );
    let (rows, summary) = read_trade(&text).unwrap();
    assert_eq!(rows[0].sub_mchid.as_deref(), Some("1900000201"));
    assert_eq!(rows[0].device_info, "POS-7");
    assert_eq!((rows[0].fee, rows[0].refund.is_none()), (4, true));
    assert_eq!(
        (summary.settlement_refund, summary.requested_refund),
        (None, None)
    );
}

#[test]
fn a_refund_bill_carries_the_refund_times() {
    let header = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,退款申请时间,退款成功时间,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";
    let done = "`2024-03-04 09:00:00,`wx1,`1900000109,`0,`,`4200000001,`T1,`o1,`JSAPI,`REFUND,`CFT,`CNY,`0.00,`0.00,`2024-03-05 14:16:13,`2024-03-05 14:16:17,`5030001,`R1,`260.00,`0.00,`ORIGINAL,`SUCCESS,`Deposit,`,`-1.56000,`0.60%,`0.00,`260.00,`";
    let pending = "`2024-03-04 09:30:00,`wx1,`1900000109,`0,`,`4200000002,`T2,`o2,`JSAPI,`REFUND,`CFT,`CNY,`0.00,`0.00,`2024-03-05 15:00:00,`,`5030002,`R2,`1.00,`0.00,`ORIGINAL,`PROCESSING,`Deposit,`,`-0.01000,`0.60%,`0.00,`1.00,`";
    let text = format!(
        "{header}\n{done}\n{pending}\n{ALL_SUMMARY_HEADER}\n`2,`0.00,`261.00,`0.00,`-1.57000,`0.00,`261.00\n"
    );
    let (rows, summary) = read_trade(&text).unwrap();
    let r = rows[0].refund.as_ref().unwrap();
    assert_eq!(rows[0].trade_time, datetime!(2024-03-04 09:00:00 +08:00));
    assert_eq!(r.applied_at, Some(datetime!(2024-03-05 14:16:13 +08:00)));
    assert_eq!(r.succeeded_at, Some(datetime!(2024-03-05 14:16:17 +08:00)));
    let r = rows[1].refund.as_ref().unwrap();
    assert_eq!(
        (r.status.clone(), r.succeeded_at),
        (BillRefundStatus::Processing, None)
    );
    assert_eq!(summary.fee, -157);
}

#[test]
fn a_refund_row_must_name_its_refund_and_unknown_statuses_are_kept() {
    let e = trade_error(&all_bill("\n").replace("`50300806962024030505978994968", "`0"));
    assert_eq!(e.line, 4);
    assert!(
        matches!(&e.problem, BillProblem::BadValue { column, .. } if column == "微信退款单号"),
        "{e}"
    );

    let text = all_bill("\n")
        .replace("`NATIVE,`SUCCESS", "`NATIVE,`PARTIAL_SOMETHING")
        .replace("`ORIGINAL,`SUCCESS", "`ORIGINAL,`CHANGE");
    let (rows, _) = read_trade(&text).unwrap();
    assert_eq!(
        rows[0].status,
        TradeBillStatus::Other("PARTIAL_SOMETHING".into())
    );
    let r = rows[2].refund.as_ref().unwrap();
    assert_eq!(r.status, BillRefundStatus::Other("CHANGE".into()));
}

#[test]
fn the_early_format_and_other_files_are_refused_by_the_missing_column() {
    let early = all_bill("\n").replace("应结订单金额", "总金额");
    let e = trade_error(&early);
    assert_eq!(e.line, 1);
    assert!(
        matches!(e.problem, BillProblem::MissingColumn("应结订单金额")),
        "{e}"
    );
    let e = trade_error("{\"code\":\"NO_STATEMENT_EXIST\"}\n");
    assert!(matches!(e.problem, BillProblem::MissingColumn(_)), "{e}");
    let e = trade_error(&format!("{PAYMENT}\n"));
    assert!(
        matches!(e.problem, BillProblem::UnexpectedLine { .. }),
        "{e}"
    );
    let e = trade_error(&format!("{ALL_HEADER},商户号\n"));
    assert!(matches!(e.problem, BillProblem::DuplicateColumn(_)), "{e}");
}

#[test]
fn bytes_that_are_not_utf8_or_lines_that_never_end_are_refused() {
    let mut bytes = all_bill("\n").into_bytes();
    let at = bytes.iter().position(|b| *b == b'`').unwrap();
    bytes[at + 1] = 0xff;
    let mut bill = TradeBillReader::new(Cursor::new(bytes)).unwrap();
    let e = bill.next_row().unwrap_err();
    assert_eq!(e.line, 2);
    assert!(matches!(e.problem, BillProblem::NotUtf8), "{e}");

    let endless = format!("{ALL_HEADER}\n`{}", "x".repeat(100_000));
    let e = trade_error(&endless);
    assert_eq!(e.line, 2);
    assert!(matches!(e.problem, BillProblem::LineTooLong { .. }), "{e}");
}

const FLOW_HEADER: &str = "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号";
const FLOW_ROWS: [&str; 4] = [
    "`2024-03-05 10:15:01,`4200000263202403057700134212,`1900000109202403050000000001,`交易,`交易,`收入,`29.90,`129.90,`system,`,`T20240305001",
    "`2024-03-05 10:15:01,`4200000263202403057700134212,`1900000109202403050000000002,`交易,`扣除交易手续费,`支出,`0.18,`129.72,`system,`,`T20240305001",
    "`2024-03-05 18:30:00,`50300806962024030505978994968,`1900000109202403050000000003,`退款,`退款,`支出,`100.00,`29.72,`1900000109API,`退款总金额100.00元;含手续费0.60元,`R20240305002",
    "`2024-03-05 18:30:00,`50300806962024030505978994968,`1900000109202403050000000004,`退款,`退还交易手续费,`收入,`0.60,`30.32,`system,`,`R20240305002",
];
const FLOW_SUMMARY: &str =
    "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额\n`4,`2,`30.50,`2,`100.18\n";

fn flow_bill() -> String {
    format!(
        "{FLOW_HEADER}\r\n{}\r\n{FLOW_SUMMARY}",
        FLOW_ROWS.join("\r\n")
    )
}

fn read_flow(text: &str) -> Result<(Vec<FundFlowRow>, FundFlowSummary), BillFileError> {
    let mut bill = FundFlowBillReader::new(Cursor::new(text.to_owned()))?;
    let rows = bill.by_ref().collect::<Result<Vec<_>, _>>()?;
    let summary = bill
        .summary()
        .cloned()
        .expect("a summary after the last row");
    Ok((rows, summary))
}

#[test]
fn a_fund_flow_bill_reads_income_fees_and_refunds() {
    let (rows, summary) = read_flow(&flow_bill()).unwrap();
    assert_eq!(rows.len(), 4);
    let income = &rows[0];
    assert_eq!(income.booked_at, datetime!(2024-03-05 10:15:01 +08:00));
    assert_eq!(income.business_id, "4200000263202403057700134212");
    assert_eq!(income.flow_id, "1900000109202403050000000001");
    assert_eq!(
        (income.business_name.as_str(), income.business_type.as_str()),
        ("交易", "交易")
    );
    assert_eq!(
        (income.direction, income.amount, income.balance),
        (FundDirection::Income, 2990, 12990)
    );
    assert_eq!(
        (income.applicant.as_str(), income.voucher_no.as_str()),
        ("system", "T20240305001")
    );
    assert_eq!(
        (rows[1].direction, rows[1].amount),
        (FundDirection::Expense, 18)
    );
    assert_eq!(rows[2].note, "退款总金额100.00元;含手续费0.60元");
    assert_eq!(
        summary,
        FundFlowSummary {
            rows: 4,
            income_rows: 2,
            income: 3050,
            expense_rows: 2,
            expense: 10018
        }
    );
}

#[test]
fn a_fund_flow_header_with_full_width_parentheses_reads_the_same() {
    let wide = flow_bill().replace("(元)", "（元）");
    assert_eq!(read_flow(&wide).unwrap(), read_flow(&flow_bill()).unwrap());
}

#[test]
fn a_fund_flow_bill_is_checked_like_a_trade_bill() {
    let e = read_flow(&flow_bill().replace("`2,`100.18", "`2,`100.00")).unwrap_err();
    assert_eq!(e.line, 7);
    assert!(
        matches!(
            e.problem,
            BillProblem::SummaryMismatch {
                column: "支出金额",
                ..
            }
        ),
        "{e}"
    );
    let e = read_flow(&flow_bill().replace("`4,`2,`30.50", "`4.0,`3.0,`30.50")).unwrap_err();
    assert!(
        matches!(
            e.problem,
            BillProblem::SummaryMismatch {
                column: "收入笔数",
                ..
            }
        ),
        "{e}"
    );
    let e = read_flow(&flow_bill().replace("`扣除交易手续费,`支出", "`扣除交易手续费,`冻结"))
        .unwrap_err();
    assert_eq!(e.line, 3);
    assert!(
        matches!(&e.problem, BillProblem::BadValue { value, .. } if value == "冻结"),
        "{e}"
    );
    let cut: String = flow_bill().lines().take(4).collect::<Vec<_>>().join("\n");
    let e = read_flow(&cut).unwrap_err();
    assert!(matches!(e.problem, BillProblem::Truncated { .. }), "{e}");
    let e = read_flow(&flow_bill().replace("`0.18,", "`0.180,")).unwrap_err();
    assert!(
        matches!(&e.problem, BillProblem::BadValue { column, .. } if column == "收支金额(元)"),
        "{e}"
    );
}

/// Produces a trade bill of `rows` payments on demand, so the reader can be shown to keep nothing
/// but the line it is on.
struct GeneratedBill {
    rows: u64,
    next: u64,
    pending: Vec<u8>,
    done: bool,
}

impl GeneratedBill {
    fn new(rows: u64) -> Self {
        Self {
            rows,
            next: 0,
            pending: format!("{ALL_HEADER}\n").into_bytes(),
            done: false,
        }
    }
}

impl std::io::Read for GeneratedBill {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pending.is_empty() && !self.done {
            if self.next < self.rows {
                self.next += 1;
                self.pending = PAYMENT
                    .replace("`T20240305001", &format!("`T{:012}", self.next))
                    .into_bytes();
                self.pending.push(b'\n');
            } else {
                let n = self.rows;
                // 29.90 and a 0.18 fee per row.
                self.pending = format!(
                    "{ALL_SUMMARY_HEADER}\n`{n},`{}.{:02},`0.00,`0.00,`{}.{:02}000,`{}.{:02},`0.00\n",
                    n * 2990 / 100, n * 2990 % 100, n * 18 / 100, n * 18 % 100, n * 2990 / 100, n * 2990 % 100
                )
                .into_bytes();
                self.done = true;
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

#[test]
fn a_large_bill_streams_row_by_row() {
    let rows = 200_000;
    let mut bill = TradeBillReader::new(std::io::BufReader::new(GeneratedBill::new(rows))).unwrap();
    let mut seen = 0u64;
    while let Some(row) = bill.next_row().unwrap() {
        seen += 1;
        assert_eq!(row.line, seen + 1);
    }
    assert_eq!(seen, rows);
    let summary = bill.summary().unwrap();
    assert_eq!((summary.total, summary.fee), (2990 * 200_000, 18 * 200_000));
}
