//! What Alipay serves as a bill file, and the reading both kinds of bill share: the zip, its
//! entries, GBK lines, CSV fields, amounts and times. `trade.rs` and `account.rs` read the tables.
//!
//! # The format
//!
//! Facts, each with where it was read (`[n]` below). Where a fact is an inference it says so; the
//! simulator writes the same and its module doc says the same.
//!
//! **The download.** `alipay.data.dataservice.bill.downloadurl.query` (`bill_type`, `bill_date`)
//! answers `bill_download_url` [8], valid for 30 seconds [1][2]. It points at
//! `…/downloadBillFile.resource?bizType=trade|fnd&userId=<pid>0156&fileType=csv.zip&bizDates=<yyyyMMdd
//! or yyyyMM>&downloadFileName=<pid>0156_<yyyyMMdd>.csv.zip&…` (`bizType=fnd` for `signcustomer`)
//! [1][3]. A day's bill is made the next day (fetch after 10:00), a month's after the 3rd or 4th of
//! the next month; asking for today or the current month is refused (reported as "参数不合法")
//! [1][2][4].
//!
//! **The file** is a zip of CSV files encoded in GBK ("ANSI" on a Chinese Windows) [1][5][6].
//! The entry names are GBK too, without the zip UTF-8 flag [6][7]: a trade bill holds
//! `<pid>0156_<yyyyMMdd>_业务明细.csv` (details) and `<pid>0156_<yyyyMMdd>_业务明细(汇总).csv`
//! (summary) [5][7]; a `signcustomer` bill `…_账务明细.csv` and `…_账务明细(汇总).csv` [11][12];
//! large monthly `signcustomer` bills come split as `…_账务明细_1.csv` [12] (this reader takes one
//! detail entry and refuses an archive with several).
//!
//! **Lines.** Comment lines start with `#`: before the table `#支付宝业务明细查询`,
//! `#账号：[<pid>0156]`, `#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]`
//! and `#-----…业务明细列表…-----`; then one header line, the rows, `#-----…业务明细列表结束…-----`
//! and after it the totals `#交易合计：6笔，商家实收共0.06元，商家优惠共0.00元`,
//! `#退款合计：4笔，商家实收退款共-0.04元，商家优惠退款共0.00元` and `#导出时间：[2019年09月17日 05:46:49]`
//! [9]. A `signcustomer` detail has the same shape with `账务明细` in the markers and the totals
//! `#支出合计：0笔，共0.00元` and `#收入合计：18笔，共14989.00元` [10]; its summary starts
//! `#支付宝账务汇总查询` [13]. The dashes in the markers differ between files, so markers are
//! recognised by their words. Lines may end in `\n` or `\r\n` (parsers of real bills handle
//! both); both are taken. GBK never puts 0x0A (or 0x0D, `,`, `"`, `#`) inside a
//! character: its lead bytes are 0x81–0xFE and its trail bytes 0x40–0xFE (GB18030's four-byte
//! forms add 0x30–0x39 as second byte), so splitting the raw bytes on `\n` before decoding is safe.
//!
//! **Fields** are separated by `,`; identifiers and some other fields carry a trailing tab so that
//! Excel keeps long numbers as text (`2019091622001458860515315453\t,service_1568601259302\t,交易\t,`)
//! [9][14]; the header line has none. Real files were not seen quoting a field; this reader still
//! takes a `"…"` field (with `""` for a quote) on one line, as CSV writers produce, and refuses an
//! unclosed quote rather than join lines.
//!
//! **Trade detail columns** (`业务明细`), in this order [9][15][16]: 支付宝交易号, 商户订单号, 业务类型,
//! 商品名称, 创建时间, 完成时间, 门店编号, 门店名称, 操作员, 终端号, 对方账户, 订单金额（元）, 商家实收（元）,
//! 支付宝红包（元）, 集分宝（元）, 支付宝优惠（元）, 商家优惠（元）, 券核销金额（元）, 券名称,
//! 商家红包消费金额（元）, 卡消费金额（元）, 退款批次号/请求号, 服务费（元）, 分润（元）, 备注 (25). Columns are
//! found by name, not position, so that a column added or moved does not shift the others (bill
//! documentation elsewhere warns that the order is not fixed [14]). 业务类型 is `交易` or
//! `退款`. A refund row repeats the trade's 支付宝交易号, 商户订单号 and 创建时间, has the refund's time as
//! 完成时间 and its `out_request_no` as 退款批次号/请求号, and **negative** 订单金额 and 商家实收 (`-0.01`)
//! [9]. Amounts are yuan with two decimals. Times are `yyyy-MM-dd HH:mm:ss`, China time (UTC+8).
//! The footer's 交易合计 and 退款合计 add up the 商家实收 and 商家优惠 of the `交易` and `退款` rows, signs
//! included (6 × 0.01 = 0.06, 4 × -0.01 = -0.04 in [9]); this reader checks them.
//!
//! **服务费 (fee) signs** are an inference: the real file read [9] has only 0.00 fees (0.6% of
//! 0.01 yuan rounds to 0.00, so no minimum fee is charged). Alipay signs every amount from the
//! merchant's side (refunds negative), so the fee is taken as negative on a `交易` row (a
//! deduction) and positive on a `退款` row (the fee returned with the refund). The parser keeps
//! whatever sign the file has.
//!
//! **Trade summary** (`业务明细(汇总)`) columns [15][17][18]: 门店编号, 门店名称, 交易订单总笔数,
//! 退款订单总笔数, 订单金额（元）, 商家实收（元）, 支付宝优惠（元）, 商家优惠（元）, 卡消费金额（元）, 服务费（元）,
//! 分润（元）, 实收净额（元）, between `#…业务汇总列表…` and `#…业务汇总列表结束…` markers; one row per
//! store and a last row whose first cell is `合计` [18][19].
//!
//! **`signcustomer` detail columns** [10][20]: 账务流水号, 业务流水号, 商户订单号, 商品名称, 发生时间,
//! 对方账号, 收入金额（+元）, 支出金额（-元）, 账户余额（元）, 交易渠道, 业务类型, 备注; newer files add
//! columns (业务描述, 业务基础订单号, …) [21], found by name like the rest. 业务类型 is `在线支付` for a
//! payment received [10], `交易退款` for a refund and `收费` for a fee (备注 `交易服务费[<trade_no>]`)
//! [22]. Its summary has the columns 类型, 收入笔数, 收入金额（+元）, 支出笔数, 支出金额（-元） with a
//! `合计` row [13][23]; readers take the absolute value of its 支出 amounts [23], and the detail's
//! totals were checked by summing the 收入 and 支出 columns and counting the rows [13]: 支出 amounts
//! are taken as written negative (inference; the real sample [10] has only 0.00 支出).
//!
//! Sources:
//! 1. <https://developer.aliyun.com/article/707638> (download URL parameters, `csv.zip`, ANSI/GBK,
//!    30 s, T+1 after 10:00, months after the 4th)
//! 2. <https://blog.csdn.net/qq_28643817/article/details/91996134> (30 s; only past days and months)
//! 3. <https://www.kancloud.cn/dianfu/pay_doc/1961934> (a real URL: `bizType=trade`,
//!    `downloadFileName=…_20200918.csv.zip`)
//! 4. <https://cnblogs.com/lyb0103/p/11506974.html> (T+1; today refused)
//! 5. dromara/dax-pay `AlipayReconcileService.java` (entries read with GBK, summary named
//!    `_业务明细(汇总).csv`, tabs stripped, `业务汇总列表` markers)
//! 6. QuantumNous/new-api, Alipay trade bill service tests (GBK entry names without the UTF-8 flag,
//!    a detail sample with tab padding)
//! 7. Java parsers naming `20886126836996110156_20160906.csv.zip` holding `…_业务明细.csv` and
//!    `…_业务明细(汇总).csv`, read with `ZipInputStream(…, "GBK")` ("文件名中有中文")
//! 8. <https://github.com/maxzhang/alipay/blob/master/bill_type.go> (the query's parameters and
//!    answer, from smartwalle/alipay)
//! 9. a real bill of 2019-09-16 kept in a Java unit test (`AlipayGeneralPaymentHandlerTest.alipayBill`,
//!    a qdingnet payment module): the whole detail file, refunds, tabs and footers
//! 10. a real `signcustomer` detail of 2012-12-29 quoted in `CheckDataAliPayImp.java` (rongyifu mms)
//! 11. Java helpers switching on the names `业务明细(汇总)`, `业务明细`, `账务明细(汇总)`, `账务明细`
//! 12. a Java service reading `…0156_202006_账务明细_1.csv` and `…_账务明细(汇总)_1.csv`
//! 13. a Python monthly fund-bill reader (`read_package`) checking `#支付宝账务明细查询` /
//!     `#支付宝账务汇总查询`, the period line, the columns and `#收入合计`/`#支出合计` against the rows
//! 14. <https://docs.ikudot.com/docs/product/bill/intro/trade-bill> (a payment aggregator's bill,
//!     not Alipay's: marks added to keep Excel from reformatting numbers; "take the columns by the
//!     header's names, their order is not fixed")
//! 15. dromara/dax-pay `AlipayReconcileBillDetail.java`, `AlipayReconcileBillTotal.java`
//! 16. Java bill parsers taking columns 0–24 in the order above (several independent projects)
//! 17. a Java reader of the summary's seventh line (`合计`) with the twelve columns above
//! 18. `APayDayBill.readDayBill` (shoppingmall): the `合计` row between the `业务汇总列表` markers
//! 19. `AlipayUtil.getAlipayStatementInfo` (flypay): `row.startsWith("合计")` in the `汇总` file
//! 20. Python importers of the `signcustomer` bill (tab-padded values, two amount columns)
//! 21. tests of a ledger importer with the added columns 业务描述, 业务基础订单号
//! 22. a mock of Alipay's account log writing a fee as 业务类型 `收费`, 备注 `交易服务费[trade_no]`
//! 23. a Node reader of `账务明细(汇总).csv` (rows `合计`, `收费`, `其它`; `Math.abs` of 支出金额)
//!
//! (Entries without a URL are files found by the project's code search; the search index does not
//! always name their repository.)

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use channel_core::Fen;
use encoding_rs::GBK;
use time::PrimitiveDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;
use zip::ZipArchive;
use zip::read::ZipFile;

/// The longest line accepted. Real lines are a few hundred bytes; a file without line breaks
/// must not be read into memory whole.
const MAX_LINE: usize = 64 * 1024;

/// Why a bill could not be downloaded or read. Reading never returns part of a bill as if it were
/// all of it: any problem ends the reading with one of these.
#[derive(Debug, thiserror::Error)]
pub enum BillError {
    /// The download failed (transport or HTTP status); nothing usable was written.
    #[error(transparent)]
    Download(#[from] crate::Error),
    /// Writing the downloaded bill failed.
    #[error("writing the bill: {0}")]
    Write(std::io::Error),
    /// The bill file could not be opened or read.
    #[error("bill file: {0}")]
    File(std::io::Error),
    /// The file is not a zip archive (or a cut-off one: the directory is at the end).
    #[error("not a zip archive: {0}")]
    NotZip(String),
    /// No entry of the kind wanted; the entries found are listed.
    #[error("no {wanted} entry in the bill (entries: {entries:?})")]
    MissingEntry {
        wanted: &'static str,
        entries: Vec<String>,
    },
    /// More than one entry of the kind wanted, so which holds the bill is unclear.
    #[error("several {wanted} entries in the bill: {entries:?}")]
    AmbiguousEntry {
        wanted: &'static str,
        entries: Vec<String>,
    },
    /// A problem at a line of an entry (line numbers start at 1).
    #[error("{entry} line {line}: {problem}")]
    Entry {
        entry: String,
        line: u64,
        problem: LineProblem,
    },
}

/// What is wrong at a line of a bill entry.
#[derive(Debug, thiserror::Error)]
pub enum LineProblem {
    /// The entry's data could not be read (a corrupt deflate stream, a CRC mismatch, a cut-off
    /// entry).
    #[error("unreadable: {0}")]
    Read(std::io::Error),
    #[error("not valid GBK text")]
    NotGbk,
    #[error("line longer than {MAX_LINE} bytes")]
    TooLong,
    #[error("a quoted field is not closed on its line")]
    UnclosedQuote,
    #[error("no column {0:?} in the header")]
    MissingColumn(&'static str),
    #[error("{found} fields where the header has {expected}")]
    ColumnCount { expected: usize, found: usize },
    #[error("{column}: {value:?} is not a yuan amount with at most two decimals")]
    Amount { column: &'static str, value: String },
    #[error("{column}: {value:?} is not a count")]
    Count { column: &'static str, value: String },
    #[error("{column}: {value:?} is not a time of the form yyyy-MM-dd HH:mm:ss")]
    Time { column: &'static str, value: String },
    #[error("{column} is empty")]
    Empty { column: &'static str },
    /// A totals line that does not read as one.
    #[error("unreadable totals line {0:?}")]
    Totals(String),
    /// A table row after the end-of-table line.
    #[error("a row after the end of the table")]
    RowAfterEnd,
    /// The entry ends before something every complete bill has: a cut-off file.
    #[error("the entry ends without {0}")]
    Truncated(&'static str),
    /// The bill's own totals disagree with its rows.
    #[error("{what}: the bill states {stated}, its rows add up to {counted}")]
    TotalsMismatch {
        what: &'static str,
        stated: String,
        counted: String,
    },
}

/// A bill zip opened from disk (the zip directory is at the end, so the file must be seekable).
pub(crate) struct Archive {
    zip: ZipArchive<File>,
    /// Each file entry's index and name, the name decoded from GBK unless it is UTF-8.
    entries: Vec<(usize, String)>,
}

impl Archive {
    pub fn open(path: &Path) -> Result<Self, BillError> {
        let file = File::open(path).map_err(BillError::File)?;
        let mut zip = ZipArchive::new(file).map_err(|e| match e {
            zip::result::ZipError::Io(e) => BillError::File(e),
            other => BillError::NotZip(other.to_string()),
        })?;
        let mut entries = Vec::new();
        for i in 0..zip.len() {
            // Raw access reads the header only, not the data.
            let entry = zip
                .by_index_raw(i)
                .map_err(|e| BillError::NotZip(e.to_string()))?;
            if !entry.is_dir() {
                entries.push((i, entry_name(entry.name_raw())));
            }
        }
        Ok(Self { zip, entries })
    }

    /// The one entry whose name `matches`, named `wanted` in errors.
    pub fn find(
        &self,
        wanted: &'static str,
        matches: impl Fn(&str) -> bool,
    ) -> Result<(usize, String), BillError> {
        let found: Vec<&(usize, String)> =
            self.entries.iter().filter(|(_, n)| matches(n)).collect();
        match found.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(BillError::MissingEntry {
                wanted,
                entries: self.entries.iter().map(|(_, n)| n.clone()).collect(),
            }),
            many => Err(BillError::AmbiguousEntry {
                wanted,
                entries: many.iter().map(|(_, n)| n.clone()).collect(),
            }),
        }
    }

    /// The lines of an entry, read as they are inflated.
    pub fn lines(
        &mut self,
        index: usize,
        name: &str,
    ) -> Result<Lines<ZipFile<'_, File>>, BillError> {
        let entry = self.zip.by_index(index).map_err(|e| BillError::Entry {
            entry: name.to_owned(),
            line: 0,
            problem: LineProblem::Read(std::io::Error::other(e)),
        })?;
        Ok(Lines::new(entry, name))
    }
}

/// An entry name: UTF-8 when the writer flagged it so, GBK (Alipay's) otherwise.
fn entry_name(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_owned(),
        Err(_) => GBK.decode_without_bom_handling(raw).0.into_owned(),
    }
}

/// Whether `name` is the detail (`part` is `业务明细` or `账务明细`) or its summary (`(汇总)`).
pub(crate) fn is_entry(name: &str, part: &str, summary: bool) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    let Some(stem) = file.strip_suffix(".csv") else {
        return false;
    };
    let Some(at) = stem.find(part) else {
        return false;
    };
    let rest = &stem[at + part.len()..];
    // Full-width parentheses appear in some exports of the same names.
    let is_summary = rest.starts_with("(汇总)") || rest.starts_with("（汇总）");
    is_summary == summary
}

/// An entry's lines: split on `\n` bytes, `\r` dropped, decoded from GBK, numbered from 1.
pub(crate) struct Lines<R> {
    reader: BufReader<R>,
    entry: String,
    number: u64,
    raw: Vec<u8>,
}

impl<R: Read> Lines<R> {
    pub fn new(reader: R, entry: &str) -> Self {
        Self {
            reader: BufReader::new(reader),
            entry: entry.to_owned(),
            number: 0,
            raw: Vec::new(),
        }
    }

    /// The number of the line last returned.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// An error at the line last returned.
    pub fn error(&self, problem: LineProblem) -> BillError {
        BillError::Entry {
            entry: self.entry.clone(),
            line: self.number,
            problem,
        }
    }

    /// The next line, `None` at the end of the entry.
    pub fn next_line(&mut self) -> Result<Option<String>, BillError> {
        self.raw.clear();
        let read = (&mut self.reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut self.raw);
        self.number += 1;
        match read {
            Err(e) => return Err(self.error(LineProblem::Read(e))),
            Ok(0) => {
                self.number -= 1;
                return Ok(None);
            }
            Ok(_) => {}
        }
        if self.raw.last() == Some(&b'\n') {
            self.raw.pop();
        } else if self.raw.len() > MAX_LINE {
            return Err(self.error(LineProblem::TooLong));
        }
        if self.raw.last() == Some(&b'\r') {
            self.raw.pop();
        }
        match GBK.decode_without_bom_handling_and_without_replacement(&self.raw) {
            Some(text) => Ok(Some(text.into_owned())),
            None => Err(self.error(LineProblem::NotGbk)),
        }
    }
}

/// Splits a line into fields: `,`-separated, a field optionally in `"…"` (with `""` inside for a
/// quote), the tabs and spaces Alipay pads fields with trimmed.
pub(crate) fn split_fields(line: &str) -> Result<Vec<String>, LineProblem> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut in_quotes = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    in_quotes = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            ',' => {
                fields.push(finish(std::mem::take(&mut field), quoted));
                quoted = false;
            }
            '"' if !quoted && field.trim_matches(PAD).is_empty() => {
                field.clear();
                quoted = true;
                in_quotes = true;
            }
            // Padding after a closing quote.
            _ if quoted && PAD.contains(&c) => {}
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err(LineProblem::UnclosedQuote);
    }
    fields.push(finish(field, quoted));
    Ok(fields)
}

const PAD: &[char] = &['\t', ' '];

fn finish(field: String, quoted: bool) -> String {
    if quoted {
        field
    } else {
        field.trim_matches(PAD).to_owned()
    }
}

/// The comment text of a `#` line, `None` for any other line.
pub(crate) fn comment(line: &str) -> Option<&str> {
    line.strip_prefix('#')
}

/// A header line: where each column is.
pub(crate) struct Header {
    names: Vec<String>,
}

impl Header {
    pub fn new(fields: Vec<String>) -> Self {
        Self { names: fields }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn find(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    pub fn require(&self, name: &'static str) -> Result<usize, LineProblem> {
        self.find(name).ok_or(LineProblem::MissingColumn(name))
    }
}

/// Reads the typed cells of a row.
pub(crate) struct Cells<'a> {
    pub fields: &'a [String],
}

impl Cells<'_> {
    pub fn text(&self, at: usize) -> String {
        self.fields.get(at).cloned().unwrap_or_default()
    }

    pub fn opt_text(&self, at: Option<usize>) -> String {
        at.map(|i| self.text(i)).unwrap_or_default()
    }

    pub fn required(&self, at: usize, column: &'static str) -> Result<String, LineProblem> {
        let t = self.text(at);
        if t.is_empty() {
            Err(LineProblem::Empty { column })
        } else {
            Ok(t)
        }
    }

    pub fn amount(&self, at: usize, column: &'static str) -> Result<Fen, LineProblem> {
        let t = self.text(at);
        parse_amount(&t).ok_or(LineProblem::Amount { column, value: t })
    }

    /// An amount column a bill may leave out or blank: zero.
    pub fn opt_amount(&self, at: Option<usize>, column: &'static str) -> Result<Fen, LineProblem> {
        match at {
            Some(i) if !self.text(i).is_empty() => self.amount(i, column),
            _ => Ok(Fen(0)),
        }
    }

    pub fn count(&self, at: usize, column: &'static str) -> Result<u64, LineProblem> {
        let t = self.text(at);
        t.parse::<u64>()
            .ok()
            .filter(|_| t.bytes().all(|b| b.is_ascii_digit()))
            .ok_or(LineProblem::Count { column, value: t })
    }

    pub fn time(&self, at: usize, column: &'static str) -> Result<PrimitiveDateTime, LineProblem> {
        let t = self.text(at);
        PrimitiveDateTime::parse(&t, TIME).map_err(|_| LineProblem::Time { column, value: t })
    }
}

const TIME: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// A yuan amount exactly as fen: optional `-`, digits, at most two decimals. Never a float.
pub(crate) fn parse_amount(s: &str) -> Option<Fen> {
    Fen::parse_yuan(s).ok()
}

/// A totals line such as `交易合计：6笔，商家实收共0.06元，商家优惠共0.00元`: the count and each `共…元`
/// amount in order. `None` when `text` is not the totals line labelled `label`; an error when it is
/// but does not read.
pub(crate) fn parse_totals(
    text: &str,
    label: &str,
) -> Option<Result<(u64, Vec<Fen>), LineProblem>> {
    let rest = text.trim().strip_prefix(label)?;
    let bad = || LineProblem::Totals(text.to_owned());
    let rest = rest
        .strip_prefix('：')
        .or_else(|| rest.strip_prefix(':'))
        .map(str::trim_start);
    let parsed = rest.and_then(|rest| {
        let (count, mut rest) = rest.split_once('笔')?;
        let count: u64 = count.trim().replace(',', "").parse().ok()?;
        let mut amounts = Vec::new();
        while let Some(at) = rest.find('共') {
            let after = &rest[at + '共'.len_utf8()..];
            let (amount, tail) = after.split_once('元')?;
            let amount = amount.trim().replace(',', "");
            amounts.push(parse_amount(amount.strip_prefix('+').unwrap_or(&amount))?);
            rest = tail;
        }
        Some((count, amounts))
    });
    Some(parsed.ok_or_else(bad))
}

/// The account and period a bill's preamble names, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillHeading {
    /// `#账号：[…]`: the merchant's pid followed by `0156`.
    pub account: Option<String>,
    /// `#起始日期：[…]`, e.g. `2019年09月16日 00:00:00`.
    pub start: Option<String>,
    /// `终止日期：[…]`: the end, exclusive (the next day's midnight).
    pub end: Option<String>,
}

impl BillHeading {
    /// Takes what a preamble comment line says, if anything.
    pub(crate) fn read(&mut self, comment: &str) {
        if let Some(v) = bracketed(comment, "账号") {
            self.account = Some(v);
        }
        if let Some(v) = bracketed(comment, "起始日期") {
            self.start = Some(v);
        }
        if let Some(v) = bracketed(comment, "终止日期") {
            self.end = Some(v);
        }
    }
}

/// The `[…]` after `label：` in `text`.
fn bracketed(text: &str, label: &str) -> Option<String> {
    let at = text.find(label)?;
    let rest = &text[at + label.len()..];
    let rest = rest.strip_prefix('：').or_else(|| rest.strip_prefix(':'))?;
    let rest = rest.trim_start().strip_prefix('[')?;
    let (value, _) = rest.split_once(']')?;
    Some(value.to_owned())
}

/// Reads the header and rows of a table between `#…<title>…` and `#…<title>结束…`.
pub(crate) struct Table<R> {
    pub lines: Lines<R>,
    pub header: Header,
    pub heading: BillHeading,
    /// The words of the end-of-table line, e.g. `业务明细列表结束`.
    end_marker: &'static str,
    ended: bool,
}

/// One step through a table.
pub(crate) enum Step {
    /// A table row's fields (the line is [`Lines::number`]).
    Row(Vec<String>),
    /// A comment line after the end of the table, without its `#`.
    Footer(String),
    /// The entry ended after the end-of-table line.
    End,
}

impl<R: Read> Table<R> {
    /// Reads the preamble up to and including the header line.
    pub fn start(mut lines: Lines<R>, end_marker: &'static str) -> Result<Self, BillError> {
        let mut heading = BillHeading::default();
        loop {
            let Some(line) = lines.next_line()? else {
                return Err(lines.error(LineProblem::Truncated("a header line")));
            };
            if let Some(text) = comment(&line) {
                heading.read(text);
                continue;
            }
            if line.trim_matches(PAD).is_empty() {
                continue;
            }
            let fields = split_fields(&line).map_err(|p| lines.error(p))?;
            return Ok(Self {
                lines,
                header: Header::new(fields),
                heading,
                end_marker,
                ended: false,
            });
        }
    }

    pub fn error(&self, problem: LineProblem) -> BillError {
        self.lines.error(problem)
    }

    pub fn step(&mut self) -> Result<Step, BillError> {
        loop {
            let Some(line) = self.lines.next_line()? else {
                return if self.ended {
                    Ok(Step::End)
                } else {
                    Err(self.error(LineProblem::Truncated("its end-of-table line")))
                };
            };
            if let Some(text) = comment(&line) {
                if self.ended {
                    return Ok(Step::Footer(text.to_owned()));
                }
                if text.contains(self.end_marker) {
                    self.ended = true;
                }
                continue;
            }
            if line.trim_matches(PAD).trim_matches(',').is_empty() {
                continue;
            }
            if self.ended {
                return Err(self.error(LineProblem::RowAfterEnd));
            }
            let fields = split_fields(&line).map_err(|p| self.error(p))?;
            if fields.len() != self.header.len() {
                return Err(self.error(LineProblem::ColumnCount {
                    expected: self.header.len(),
                    found: fields.len(),
                }));
            }
            return Ok(Step::Row(fields));
        }
    }
}

/// A total compared with what the rows add up to.
pub(crate) fn check<T: PartialEq + fmt::Display>(
    what: &'static str,
    stated: T,
    counted: T,
) -> Result<(), LineProblem> {
    if stated == counted {
        Ok(())
    } else {
        Err(LineProblem::TotalsMismatch {
            what,
            stated: stated.to_string(),
            counted: counted.to_string(),
        })
    }
}
