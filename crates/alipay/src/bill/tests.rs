//! Bills built here byte by byte in Alipay's format (GBK text, GBK entry names without the UTF-8
//! flag, tab-padded fields, `#` preamble and totals), independently of the simulator's writer.

use std::io::Write;

use channel_core::Fen;
use encoding_rs::GBK;
use flate2::Compression;
use flate2::write::DeflateEncoder;
use time::macros::datetime;

use super::*;

const ACCOUNT: &str = "20880211096256330156";
const DAY: &str = "20190916";

const TRADE_HEADER: &str = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注";

/// A detail row as Alipay pads it: a tab after the identifiers and a few other fields.
fn trade_row(
    (trade_no, out_trade_no): (&str, &str),
    kind: &str,
    subject: &str,
    times: (&str, &str),
    amount: &str,
    request_no: &str,
    fee: &str,
) -> String {
    format!(
        "{trade_no}\t,{out_trade_no}\t,{kind}\t,{subject},{},{},\t,\t,\t,\t,*津水(602***@qq.com)\t,{amount},{amount},0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,{request_no}\t,{fee},0.00,",
        times.0, times.1
    )
}

fn trade_detail(rows: &[String], totals: &[&str]) -> String {
    let mut s = format!(
        "#支付宝业务明细查询\n#账号：[{ACCOUNT}]\n#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]\n\
         #-----------------------------------------业务明细列表----------------------------------------\n{TRADE_HEADER}\n"
    );
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s.push_str(
        "#-----------------------------------------业务明细列表结束------------------------------------\n",
    );
    for t in totals {
        s.push_str(t);
        s.push('\n');
    }
    s.push_str("#导出时间：[2019年09月17日 05:46:49]\n");
    s
}

fn trade_summary(total: &str) -> String {
    format!(
        "#支付宝业务汇总查询\n#账号：[{ACCOUNT}]\n#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]\n\
         #-----------------------------------------业务汇总列表----------------------------------------\n\
         门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）\n\
         {total}\n\
         #----------------------------------------业务汇总列表结束-------------------------------------\n\
         #导出时间：[2019年09月17日 05:46:49]\n"
    )
}

/// The usual day: a payment of 100.00 (fee 0.60), a 30.00 refund of it (fee 0.18 back), and a
/// payment whose subject holds a comma and so is quoted.
fn usual_detail() -> String {
    let paid = ("2019-09-16 10:55:16", "2019-09-16 10:55:23");
    trade_detail(
        &[
            trade_row(
                ("2019091622001458860515315453", "order-1"),
                "交易",
                "下单测试",
                paid,
                "100.00",
                "",
                "-0.60",
            ),
            trade_row(
                ("2019091622001458860515315453", "order-1"),
                "退款",
                "下单测试",
                ("2019-09-16 10:55:16", "2019-09-16 10:56:48"),
                "-30.00",
                "refund-1",
                "0.18",
            ),
            trade_row(
                ("2019091622001458860513822558", "order-2"),
                "交易",
                "\"T恤, 白色\"",
                ("2019-09-16 11:07:03", "2019-09-16 11:07:09"),
                "0.01",
                "",
                "0.00",
            ),
        ],
        &[
            "#交易合计：2笔，商家实收共100.01元，商家优惠共0.00元",
            "#退款合计：1笔，商家实收退款共-30.00元，商家优惠退款共0.00元",
        ],
    )
}

const USUAL_SUMMARY_TOTAL: &str = "合计,,2,1,70.01,70.01,0.00,0.00,0.00,-0.42,0.00,69.59";

fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = GBK.encode(text);
    assert!(!unmappable, "test text not encodable in GBK");
    bytes.into_owned()
}

/// A zip of deflated entries whose names are GBK without the UTF-8 flag, as Alipay's are. Written
/// by hand: zip writers flag every non-ASCII name as UTF-8.
fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let name = gbk(name);
        let mut deflater = DeflateEncoder::new(Vec::new(), Compression::default());
        deflater.write_all(data).unwrap();
        let packed = deflater.finish().unwrap();
        let offset = u32::try_from(out.len()).unwrap();
        let fixed = |v: &mut Vec<u8>| {
            v.extend(20u16.to_le_bytes()); // version needed
            v.extend(0u16.to_le_bytes()); // flags: no UTF-8 bit
            v.extend(8u16.to_le_bytes()); // deflate
            v.extend(0u16.to_le_bytes()); // time
            v.extend(0x21u16.to_le_bytes()); // 1980-01-01
            v.extend(crc32fast::hash(data).to_le_bytes());
            v.extend(u32::try_from(packed.len()).unwrap().to_le_bytes());
            v.extend(u32::try_from(data.len()).unwrap().to_le_bytes());
            v.extend(u16::try_from(name.len()).unwrap().to_le_bytes());
            v.extend(0u16.to_le_bytes()); // extra
        };
        out.extend(0x0403_4b50u32.to_le_bytes());
        fixed(&mut out);
        out.extend(&name);
        out.extend(&packed);
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend(20u16.to_le_bytes()); // made by
        fixed(&mut central);
        central.extend([0u8; 10]); // comment length, disk, internal and external attributes
        central.extend(offset.to_le_bytes());
        central.extend(&name);
    }
    let at = u32::try_from(out.len()).unwrap();
    let count = u16::try_from(entries.len()).unwrap();
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend(count.to_le_bytes());
    out.extend(count.to_le_bytes());
    out.extend(u32::try_from(central.len()).unwrap().to_le_bytes());
    out.extend(at.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

fn detail_name() -> String {
    format!("{ACCOUNT}_{DAY}_业务明细.csv")
}

fn summary_name() -> String {
    format!("{ACCOUNT}_{DAY}_业务明细(汇总).csv")
}

/// The zip written to a temporary file, as a download leaves it.
fn on_disk(zip: &[u8]) -> tempfile::TempPath {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(zip).unwrap();
    f.into_temp_path()
}

fn trade_bill(detail: &str, summary: &str) -> tempfile::TempPath {
    on_disk(&zip_of(&[
        (&detail_name(), gbk(detail)),
        (&summary_name(), gbk(summary)),
    ]))
}

fn all_rows(path: &std::path::Path) -> Result<Vec<TradeBillRow>, BillError> {
    TradeBill::open(path)?.rows()?.collect()
}

/// The problem and line of a bill error at a line of an entry.
fn at_line(e: BillError) -> (String, u64, LineProblem) {
    match e {
        BillError::Entry {
            entry,
            line,
            problem,
        } => (entry, line, problem),
        other => panic!("expected an error at a line, got {other:?}"),
    }
}

#[test]
fn a_trade_bill_gives_payments_refunds_and_fees_with_their_signs() {
    let path = trade_bill(&usual_detail(), &trade_summary(USUAL_SUMMARY_TOTAL));
    let mut bill = TradeBill::open(&path).unwrap();
    assert_eq!(bill.detail_entry(), detail_name());
    assert_eq!(bill.summary_entry(), summary_name());
    let summary = bill.summary().clone();
    assert_eq!(summary.heading.account.as_deref(), Some(ACCOUNT));
    assert_eq!(summary.total.payment_count, 2);
    assert_eq!(summary.total.refund_count, 1);
    assert_eq!(summary.total.service_fee, Fen(-42));
    assert_eq!(summary.total.net_received, Fen(6959));
    assert!(summary.stores.is_empty());

    let mut rows = bill.rows().unwrap();
    let paid = rows.next().unwrap().unwrap();
    assert_eq!(paid.line, 6);
    assert_eq!(paid.trade_no, "2019091622001458860515315453");
    assert_eq!(paid.out_trade_no, "order-1");
    assert_eq!(paid.kind, TradeBillKind::Payment);
    assert_eq!(paid.created_at, datetime!(2019-09-16 10:55:16));
    assert_eq!(paid.finished_at, datetime!(2019-09-16 10:55:23));
    assert_eq!(
        (paid.order_amount, paid.merchant_received),
        (Fen(10000), Fen(10000))
    );
    assert_eq!(paid.service_fee, Fen(-60));
    assert_eq!(paid.out_request_no, "");
    assert_eq!(paid.counterparty, "*津水(602***@qq.com)");

    let refund = rows.next().unwrap().unwrap();
    assert_eq!(refund.kind, TradeBillKind::Refund);
    assert_eq!(refund.out_trade_no, "order-1");
    assert_eq!(refund.out_request_no, "refund-1");
    assert_eq!(refund.merchant_received, Fen(-3000));
    assert_eq!(refund.service_fee, Fen(18));
    assert_eq!(refund.finished_at, datetime!(2019-09-16 10:56:48));

    let quoted = rows.next().unwrap().unwrap();
    assert_eq!(quoted.subject, "T恤, 白色");
    assert_eq!(quoted.merchant_received, Fen(1));

    assert!(rows.next().is_none());
    let totals = rows.totals().unwrap();
    assert_eq!(totals.payments.count, 2);
    assert_eq!(totals.payments.merchant_received, Fen(10001));
    assert_eq!(totals.refunds.merchant_received, Fen(-3000));
    assert_eq!(
        totals.heading.start.as_deref(),
        Some("2019年09月16日 00:00:00")
    );
    assert_eq!(
        totals.heading.end.as_deref(),
        Some("2019年09月17日 00:00:00")
    );
}

#[test]
fn crlf_line_ends_read_the_same() {
    let crlf = |s: String| s.replace('\n', "\r\n");
    let path = trade_bill(
        &crlf(usual_detail()),
        &crlf(trade_summary(USUAL_SUMMARY_TOTAL)),
    );
    let rows = all_rows(&path).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2].subject, "T恤, 白色");
    assert_eq!(rows[2].remark, "");
    assert_eq!(rows[0].trade_no, "2019091622001458860515315453");
}

#[test]
fn a_day_without_trades_is_a_bill_without_rows() {
    let path = trade_bill(
        &trade_detail(
            &[],
            &[
                "#交易合计：0笔，商家实收共0.00元，商家优惠共0.00元",
                "#退款合计：0笔，商家实收退款共0.00元，商家优惠退款共0.00元",
            ],
        ),
        &trade_summary("合计,,0,0,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00"),
    );
    assert!(all_rows(&path).unwrap().is_empty());
}

#[test]
fn a_file_that_is_not_a_zip_is_refused() {
    let path = on_disk(b"<html>\xcf\xc2\xd4\xd8\xb3\xac\xca\xb1</html>");
    assert!(matches!(TradeBill::open(&path), Err(BillError::NotZip(_))));

    // A download cut short loses the zip directory, which is at the end.
    let whole = zip_of(&[
        (&detail_name(), gbk(&usual_detail())),
        (&summary_name(), gbk(&trade_summary(USUAL_SUMMARY_TOTAL))),
    ]);
    let cut = on_disk(&whole[..whole.len() / 2]);
    assert!(matches!(TradeBill::open(&cut), Err(BillError::NotZip(_))));
}

#[test]
fn corrupt_entry_data_is_an_error_not_a_short_bill() {
    let detail = gbk(&usual_detail());
    let mut zip = zip_of(&[
        (&detail_name(), detail),
        (&summary_name(), gbk(&trade_summary(USUAL_SUMMARY_TOTAL))),
    ]);
    // Flip bytes inside the first entry's deflated data (after its 30-byte header and name).
    let start = 30 + gbk(&detail_name()).len() + 20;
    for b in &mut zip[start..start + 8] {
        *b ^= 0x5a;
    }
    let path = on_disk(&zip);
    let e = all_rows(&path).unwrap_err();
    let (entry, _, problem) = at_line(e);
    assert_eq!(entry, detail_name());
    assert!(matches!(problem, LineProblem::Read(_)), "{problem:?}");
}

#[test]
fn an_archive_without_the_detail_entry_names_what_it_holds() {
    let path = on_disk(&zip_of(&[(
        &summary_name(),
        gbk(&trade_summary(USUAL_SUMMARY_TOTAL)),
    )]));
    match TradeBill::open(&path) {
        Err(BillError::MissingEntry { entries, .. }) => assert_eq!(entries, [summary_name()]),
        other => panic!("{:?}", other.err()),
    }
}

#[test]
fn a_detail_cut_before_its_end_line_is_an_error() {
    let whole = usual_detail();
    let cut = &whole[..whole
        .find("#-----------------------------------------业务明细列表结束")
        .unwrap()];
    let path = trade_bill(cut, &trade_summary(USUAL_SUMMARY_TOTAL));
    let mut results: Vec<_> = TradeBill::open(&path).unwrap().rows().unwrap().collect();
    assert_eq!(results.len(), 4, "three rows, then the error");
    let last = results.pop().unwrap().unwrap_err();
    assert!(results.iter().all(Result::is_ok));
    let (_, line, problem) = at_line(last);
    assert_eq!(line, 8);
    assert!(matches!(problem, LineProblem::Truncated(_)), "{problem:?}");
}

#[test]
fn a_detail_cut_before_its_totals_is_an_error() {
    let whole = usual_detail();
    let cut = &whole[..whole.find("#交易合计").unwrap()];
    let path = trade_bill(cut, &trade_summary(USUAL_SUMMARY_TOTAL));
    let (_, _, problem) = at_line(all_rows(&path).unwrap_err());
    assert!(matches!(problem, LineProblem::Truncated(_)), "{problem:?}");
}

#[test]
fn totals_that_disagree_with_the_rows_are_an_error() {
    let detail = usual_detail().replace("商家实收共100.01元", "商家实收共100.02元");
    let path = trade_bill(&detail, &trade_summary(USUAL_SUMMARY_TOTAL));
    let (_, _, problem) = at_line(all_rows(&path).unwrap_err());
    match problem {
        LineProblem::TotalsMismatch {
            what,
            stated,
            counted,
        } => {
            assert_eq!(what, "交易合计 商家实收");
            assert_eq!((stated.as_str(), counted.as_str()), ("100.02", "100.01"));
        }
        other => panic!("{other:?}"),
    }

    let detail = usual_detail().replace("#退款合计：1笔", "#退款合计：2笔");
    let path = trade_bill(&detail, &trade_summary(USUAL_SUMMARY_TOTAL));
    let (_, _, problem) = at_line(all_rows(&path).unwrap_err());
    assert!(matches!(
        problem,
        LineProblem::TotalsMismatch {
            what: "退款合计 count",
            ..
        }
    ));
}

#[test]
fn an_amount_with_three_decimals_is_an_error_at_its_line() {
    let detail = usual_detail().replace(",100.00,100.00,", ",100.001,100.00,");
    let path = trade_bill(&detail, &trade_summary(USUAL_SUMMARY_TOTAL));
    let (entry, line, problem) = at_line(all_rows(&path).unwrap_err());
    assert_eq!((entry.as_str(), line), (detail_name().as_str(), 6));
    assert!(
        matches!(&problem, LineProblem::Amount { column: "订单金额（元）", value } if value == "100.001"),
        "{problem:?}"
    );
    assert_eq!(
        BillError::Entry {
            entry,
            line,
            problem
        }
        .to_string(),
        format!(
            "{} line 6: 订单金额（元）: \"100.001\" is not a yuan amount with at most two decimals",
            detail_name()
        )
    );
}

#[test]
fn a_row_with_a_missing_field_is_an_error() {
    let detail = usual_detail().replace(",-0.60,0.00,", ",-0.60,");
    let path = trade_bill(&detail, &trade_summary(USUAL_SUMMARY_TOTAL));
    let (_, line, problem) = at_line(all_rows(&path).unwrap_err());
    assert_eq!(line, 6);
    assert!(
        matches!(
            problem,
            LineProblem::ColumnCount {
                expected: 25,
                found: 24
            }
        ),
        "{problem:?}"
    );
}

#[test]
fn text_that_is_not_gbk_is_an_error() {
    let mut detail = gbk(&usual_detail());
    let at = detail.windows(7).position(|w| w == b"order-2").unwrap();
    detail[at] = 0xff; // a lead byte GBK does not have
    let path = on_disk(&zip_of(&[
        (&detail_name(), detail),
        (&summary_name(), gbk(&trade_summary(USUAL_SUMMARY_TOTAL))),
    ]));
    let (_, line, problem) = at_line(all_rows(&path).unwrap_err());
    assert_eq!(line, 8);
    assert!(matches!(problem, LineProblem::NotGbk), "{problem:?}");
}

#[test]
fn a_summary_without_its_total_row_is_an_error() {
    let summary = trade_summary(USUAL_SUMMARY_TOTAL).replace(USUAL_SUMMARY_TOTAL, "");
    let path = trade_bill(&usual_detail(), &summary);
    let (entry, _, problem) = at_line(TradeBill::open(&path).err().unwrap());
    assert_eq!(entry, summary_name());
    assert!(matches!(problem, LineProblem::Truncated(_)), "{problem:?}");
}

#[test]
fn lines_split_on_newline_bytes_never_cut_a_gbk_character() {
    // Every GBK trail byte is 0x40 or above: no character's bytes contain 0x0A or 0x0D.
    let text = "收款,退款,服务费\n账务明细\r\n";
    let mut lines = format::Lines::new(std::io::Cursor::new(gbk(text)), "x.csv");
    assert_eq!(
        lines.next_line().unwrap().as_deref(),
        Some("收款,退款,服务费")
    );
    assert_eq!(lines.next_line().unwrap().as_deref(), Some("账务明细"));
    assert_eq!(lines.next_line().unwrap(), None);
}

const ACCOUNT_HEADER: &str = "账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,支出金额（-元）,账户余额（元）,交易渠道,业务类型,备注";

fn account_detail(rows: &[&str], totals: &[&str]) -> String {
    let mut s = format!(
        "#支付宝账务明细查询\n#账号：[{ACCOUNT}]\n#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]\n\
         #-----------------------------------------账务明细列表----------------------------------------\n{ACCOUNT_HEADER}\n"
    );
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s.push_str("#----------------------------------------账务明细列表结束-------------------------------------\n");
    for t in totals {
        s.push_str(t);
        s.push('\n');
    }
    s.push_str("#导出时间：[2019年09月17日 05:46:49]\n");
    s
}

fn account_summary() -> String {
    format!(
        "#支付宝账务汇总查询\n#账号：[{ACCOUNT}]\n#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]\n\
         #-----------------------------------------账务汇总列表----------------------------------------\n\
         类型,收入笔数,收入金额（+元）,支出笔数,支出金额（-元）\n\
         在线支付,1,100.00,0,0.00\n交易退款,0,0.00,1,-30.00\n收费,1,0.18,1,-0.60\n合计,2,100.18,2,-30.60\n\
         #----------------------------------------账务汇总列表结束-------------------------------------\n"
    )
}

fn usual_account_rows() -> [&'static str; 4] {
    [
        "201909160001\t,2019091622001458860515315453\t,order-1\t,下单测试\t,2019-09-16 10:55:23,*津水(602***@qq.com)\t,100.00,0.00,1100.00,支付宝,在线支付,",
        "201909160002\t,2019091622001458860515315453\t,order-1\t,下单测试\t,2019-09-16 10:55:23,\t,0.00,-0.60,1099.40,支付宝,收费,交易服务费[2019091622001458860515315453]",
        "201909160003\t,2019091622001458860515315453\t,order-1\t,下单测试\t,2019-09-16 10:56:48,*津水(602***@qq.com)\t,0.00,-30.00,1069.40,支付宝,交易退款,",
        "201909160004\t,2019091622001458860515315453\t,order-1\t,下单测试\t,2019-09-16 10:56:48,\t,0.18,0.00,1069.58,支付宝,收费,交易服务费退回[2019091622001458860515315453]",
    ]
}

fn account_bill(detail: &str) -> tempfile::TempPath {
    on_disk(&zip_of(&[
        (&format!("{ACCOUNT}_{DAY}_账务明细.csv"), gbk(detail)),
        (
            &format!("{ACCOUNT}_{DAY}_账务明细(汇总).csv"),
            gbk(&account_summary()),
        ),
    ]))
}

#[test]
fn an_account_bill_gives_each_movement_and_checks_its_totals() {
    let path = account_bill(&account_detail(
        &usual_account_rows(),
        &["#支出合计：2笔，共-30.60元", "#收入合计：2笔，共100.18元"],
    ));
    let mut bill = AccountBill::open(&path).unwrap();
    assert_eq!(bill.summary().total.income, Fen(10018));
    assert_eq!(bill.summary().kinds.len(), 3);
    let mut rows = bill.rows().unwrap();
    let all: Vec<AccountBillRow> = rows.by_ref().map(Result::unwrap).collect();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0].kind, AccountEntryKind::Payment);
    assert_eq!(all[0].income, Fen(10000));
    assert_eq!(all[0].balance, Fen(110_000));
    assert_eq!(all[0].biz_no, "2019091622001458860515315453");
    assert_eq!(all[1].kind, AccountEntryKind::Fee);
    assert_eq!(all[1].outgo, Fen(-60));
    assert_eq!(all[2].kind, AccountEntryKind::Refund);
    assert_eq!(all[2].occurred_at, datetime!(2019-09-16 10:56:48));
    assert_eq!(all[3].income, Fen(18));
    let totals = rows.totals().unwrap();
    assert_eq!(totals.outgo.amount, Fen(-3060));
    assert_eq!(totals.income.count, 2);
}

#[test]
fn account_totals_that_disagree_or_are_missing_are_errors() {
    let path = account_bill(&account_detail(
        &usual_account_rows(),
        &["#支出合计：2笔，共-30.60元", "#收入合计：3笔，共100.18元"],
    ));
    let e = AccountBill::open(&path)
        .unwrap()
        .rows()
        .unwrap()
        .last()
        .unwrap()
        .unwrap_err();
    assert!(matches!(
        at_line(e).2,
        LineProblem::TotalsMismatch {
            what: "收入合计 count",
            ..
        }
    ));

    let path = account_bill(&account_detail(
        &usual_account_rows(),
        &["#支出合计：2笔，共-30.60元"],
    ));
    let e = AccountBill::open(&path)
        .unwrap()
        .rows()
        .unwrap()
        .last()
        .unwrap()
        .unwrap_err();
    assert!(matches!(at_line(e).2, LineProblem::Truncated(_)));
}

#[test]
fn fields_are_split_on_commas_outside_quotes_and_unpadded() {
    let f = format::split_fields("a\t,\"b,\"\"c\"\"\"\t, d ,").unwrap();
    assert_eq!(f, ["a", "b,\"c\"", "d", ""]);
    assert!(matches!(
        format::split_fields("a,\"b"),
        Err(LineProblem::UnclosedQuote)
    ));
}

#[test]
fn totals_lines_read_counts_and_signed_amounts() {
    let t = format::parse_totals(
        "退款合计：4笔，商家实收退款共-0.04元，商家优惠退款共0.00元",
        "退款合计",
    )
    .unwrap()
    .unwrap();
    assert_eq!(t, (4, vec![Fen(-4), Fen(0)]));
    assert!(format::parse_totals("导出时间：[2019年09月17日 05:46:49]", "退款合计").is_none());
    assert!(
        format::parse_totals("退款合计：四笔", "退款合计")
            .unwrap()
            .is_err()
    );
}
