//! The pieces both bills share: lines read one at a time within a length limit, cells split and
//! stripped of their backtick, amounts read into fen without floats, China times, and the error.

use std::fmt;
use std::io::{BufRead, Read};

use time::macros::{format_description, offset};
use time::{OffsetDateTime, PrimitiveDateTime};

/// No real bill line comes near this (a trade row is a few hundred bytes); a longer "line" is a
/// file that is not a bill, and reading it whole would defeat streaming.
pub(crate) const MAX_LINE_BYTES: usize = 64 * 1024;

/// A bill that cannot be read, and the line where that became clear (1-based, counting the
/// header; 0 when the file is empty).
#[derive(Debug, thiserror::Error)]
#[error("bill line {line}: {problem}")]
pub struct BillFileError {
    pub line: u64,
    pub problem: BillProblem,
}

/// What is wrong with a bill file.
#[derive(Debug, thiserror::Error)]
pub enum BillProblem {
    #[error("read failed: {0}")]
    Io(#[source] std::io::Error),
    #[error("not UTF-8 text")]
    NotUtf8,
    #[error("longer than {limit} bytes")]
    LineTooLong { limit: usize },
    #[error("the file is empty")]
    Empty,
    #[error("the header has no column {0}")]
    MissingColumn(&'static str),
    #[error("the header names column {0} twice")]
    DuplicateColumn(String),
    #[error("expected {expected}")]
    UnexpectedLine { expected: &'static str },
    #[error("field {column} does not start with a backtick")]
    MissingBacktick { column: String },
    #[error("{found} fields where the header has {expected}")]
    ColumnCount { expected: usize, found: usize },
    #[error("{column} {value:?}: {reason}")]
    BadValue {
        column: String,
        value: String,
        reason: &'static str,
    },
    #[error("the file ends without {missing}")]
    Truncated { missing: &'static str },
    #[error("the summary says {column} is {summary} but the rows add up to {rows}")]
    SummaryMismatch {
        column: &'static str,
        summary: String,
        rows: String,
    },
    #[error("the bill already failed")]
    AlreadyFailed,
}

impl BillFileError {
    pub(crate) fn at(line: u64, problem: BillProblem) -> Self {
        Self { line, problem }
    }
}

/// One line of text, without its line end.
#[derive(Debug)]
pub(crate) struct Line {
    pub number: u64,
    pub text: String,
}

impl Line {
    pub fn is_data(&self) -> bool {
        self.text.starts_with('`')
    }

    pub fn err(&self, problem: BillProblem) -> BillFileError {
        BillFileError::at(self.number, problem)
    }
}

/// Lines of a bill, blank ones skipped; only the current line is held.
pub(crate) struct Lines<R> {
    input: R,
    buf: Vec<u8>,
    number: u64,
}

impl<R: BufRead> Lines<R> {
    pub fn new(input: R) -> Self {
        Self {
            input,
            buf: Vec::new(),
            number: 0,
        }
    }

    /// The number of the last line read.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The next line that is not blank, or `None` at the end of the input.
    pub fn next_line(&mut self) -> Result<Option<Line>, BillFileError> {
        loop {
            self.buf.clear();
            let limit = u64::try_from(MAX_LINE_BYTES).unwrap_or(u64::MAX) + 1;
            let read = (&mut self.input)
                .take(limit)
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| BillFileError::at(self.number + 1, BillProblem::Io(e)))?;
            if read == 0 {
                return Ok(None);
            }
            self.number += 1;
            let mut bytes = self.buf.as_slice();
            if let Some(rest) = bytes.strip_suffix(b"\n") {
                bytes = rest.strip_suffix(b"\r").unwrap_or(rest);
            } else if bytes.len() > MAX_LINE_BYTES {
                return Err(BillFileError::at(
                    self.number,
                    BillProblem::LineTooLong {
                        limit: MAX_LINE_BYTES,
                    },
                ));
            }
            if self.number == 1 {
                bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            }
            let text = std::str::from_utf8(bytes)
                .map_err(|_| BillFileError::at(self.number, BillProblem::NotUtf8))?;
            if !text.trim().is_empty() {
                return Ok(Some(Line {
                    number: self.number,
                    text: text.to_owned(),
                }));
            }
        }
    }
}

/// A header's column names. Headers are plain text, but a backtick before a name is dropped in
/// case a tool added one, and full-width parentheses read as ASCII ones (`收支金额（元）`).
pub(crate) fn header_names(line: &Line) -> Result<Vec<String>, BillFileError> {
    let names: Vec<String> = line
        .text
        .split(',')
        .map(|c| {
            let c = c.trim();
            c.strip_prefix('`')
                .unwrap_or(c)
                .replace('（', "(")
                .replace('）', ")")
        })
        .collect();
    for (i, name) in names.iter().enumerate() {
        if !name.is_empty() && names[..i].contains(name) {
            return Err(line.err(BillProblem::DuplicateColumn(name.clone())));
        }
    }
    Ok(names)
}

/// Where a named column is, or the error naming it.
pub(crate) fn column(
    names: &[String],
    name: &'static str,
    line: &Line,
) -> Result<usize, BillFileError> {
    optional_column(names, name).ok_or_else(|| line.err(BillProblem::MissingColumn(name)))
}

pub(crate) fn optional_column(names: &[String], name: &str) -> Option<usize> {
    names.iter().position(|n| n == name)
}

/// A data line's fields without their backticks; there must be one per header column.
pub(crate) fn data_fields<'a>(
    line: &'a Line,
    names: &[String],
) -> Result<Vec<&'a str>, BillFileError> {
    let raw: Vec<&str> = line.text.split(',').collect();
    if raw.len() != names.len() {
        return Err(line.err(BillProblem::ColumnCount {
            expected: names.len(),
            found: raw.len(),
        }));
    }
    raw.iter()
        .zip(names)
        .map(|(field, name)| {
            field.strip_prefix('`').ok_or_else(|| {
                line.err(BillProblem::MissingBacktick {
                    column: name.clone(),
                })
            })
        })
        .collect()
}

/// How an amount may be written.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AmountKind {
    /// Not negative, at most two decimals: `29.90`, and `0.0` in summaries.
    Plain,
    /// Signed, up to five decimals, but a whole number of fen: `0.18000`, `-1.56000`.
    Fee,
}

/// A yuan amount in fen, read digit by digit (never through a float).
pub(crate) fn fen(
    value: &str,
    kind: AmountKind,
    column: &str,
    line: &Line,
) -> Result<i64, BillFileError> {
    let bad = |reason: &'static str| {
        line.err(BillProblem::BadValue {
            column: column.to_owned(),
            value: value.to_owned(),
            reason,
        })
    };
    let (negative, digits) = match (kind, value.strip_prefix('-')) {
        (AmountKind::Fee, Some(rest)) => (true, rest),
        _ => (false, value),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let is_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !is_digits(whole) || (digits.contains('.') && !is_digits(frac)) {
        return Err(bad("not an amount in yuan"));
    }
    let (max, reason) = match kind {
        AmountKind::Plain => (2, "more than two decimals"),
        AmountKind::Fee => (5, "more than five decimals"),
    };
    if frac.len() > max {
        return Err(bad(reason));
    }
    let (cents, below) = frac.split_at(frac.len().min(2));
    if below.bytes().any(|b| b != b'0') {
        return Err(bad("not a whole number of fen"));
    }
    let mut fen: i64 = whole.parse().map_err(|_| bad("too large"))?;
    fen = fen.checked_mul(100).ok_or_else(|| bad("too large"))?;
    let cents = match cents.len() {
        0 => 0,
        1 => i64::from(cents.as_bytes()[0] - b'0') * 10,
        _ => i64::from(cents.as_bytes()[0] - b'0') * 10 + i64::from(cents.as_bytes()[1] - b'0'),
    };
    fen = fen.checked_add(cents).ok_or_else(|| bad("too large"))?;
    Ok(if negative { -fen } else { fen })
}

/// A count in a summary: `45`, or `45.0` as some bills write it.
pub(crate) fn count(value: &str, column: &str, line: &Line) -> Result<u64, BillFileError> {
    let (whole, frac) = value.split_once('.').unwrap_or((value, ""));
    let whole_ok = !whole.is_empty() && whole.bytes().all(|b| b.is_ascii_digit());
    let frac_ok = !value.contains('.') || (!frac.is_empty() && frac.bytes().all(|b| b == b'0'));
    match (whole_ok && frac_ok).then(|| whole.parse::<u64>()) {
        Some(Ok(n)) => Ok(n),
        _ => Err(line.err(BillProblem::BadValue {
            column: column.to_owned(),
            value: value.to_owned(),
            reason: "not a whole count",
        })),
    }
}

/// `2024-01-02 10:00:00`, China time.
pub(crate) fn china_time(
    value: &str,
    column: &str,
    line: &Line,
) -> Result<OffsetDateTime, BillFileError> {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    PrimitiveDateTime::parse(value, format)
        .map(|t| t.assume_offset(offset!(+8)))
        .map_err(|_| {
            line.err(BillProblem::BadValue {
                column: column.to_owned(),
                value: value.to_owned(),
                reason: "not a time as yyyy-MM-dd HH:mm:ss",
            })
        })
}

/// Adds to a running total; a bill whose sums overflow `i64` fen is not a real one.
pub(crate) fn add(
    total: &mut i64,
    amount: i64,
    column: &str,
    line: &Line,
) -> Result<(), BillFileError> {
    *total = total.checked_add(amount).ok_or_else(|| {
        line.err(BillProblem::BadValue {
            column: column.to_owned(),
            value: amount.to_string(),
            reason: "the running total overflows",
        })
    })?;
    Ok(())
}

/// Fen written as yuan for messages: `-1.56`.
pub(crate) struct Yuan(pub i64);

impl fmt::Display for Yuan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}
