//! The four parts every bill has — header, rows, summary header, summary row — told apart line by
//! line: rows start with a backtick, headers do not. Both readers walk a bill through this.

use std::io::BufRead;

use super::lines::{BillFileError, BillProblem, Line, Lines, header_names};

/// What comes after the header.
pub(crate) enum Section {
    Row(Line),
    /// The summary header's names, its line, and the summary row; nothing followed them.
    Summary {
        names: Vec<String>,
        header: Line,
        values: Line,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Rows,
    Done,
    Failed,
}

pub(crate) struct Sections<R> {
    lines: Lines<R>,
    state: State,
}

impl<R: BufRead> Sections<R> {
    /// Reads up to the detail header and returns its column names.
    pub fn open(input: R) -> Result<(Self, Line, Vec<String>), BillFileError> {
        let mut lines = Lines::new(input);
        let header = lines
            .next_line()?
            .ok_or_else(|| BillFileError::at(0, BillProblem::Empty))?;
        if header.is_data() {
            return Err(header.err(BillProblem::UnexpectedLine {
                expected: "the header (a bill starts with its column names)",
            }));
        }
        let names = header_names(&header)?;
        Ok((
            Self {
                lines,
                state: State::Rows,
            },
            header,
            names,
        ))
    }

    /// Runs one step of a reader: after the summary every step is `Ok(None)`, after an error every
    /// step fails, so no caller can mistake a broken bill for a finished one.
    pub fn step<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<Option<T>, BillFileError>,
    ) -> Result<Option<T>, BillFileError> {
        match self.state {
            State::Done => return Ok(None),
            State::Failed => {
                return Err(BillFileError::at(
                    self.lines.number(),
                    BillProblem::AlreadyFailed,
                ));
            }
            State::Rows => {}
        }
        let result = read(self);
        self.state = match &result {
            Err(_) => State::Failed,
            Ok(None) => State::Done,
            Ok(Some(_)) => State::Rows,
        };
        result
    }

    /// The next row, or the summary once a plain line naming `count_column` follows the rows.
    pub fn next_section(&mut self, count_column: &'static str) -> Result<Section, BillFileError> {
        let truncated = |lines: &Lines<R>, missing| {
            BillFileError::at(lines.number(), BillProblem::Truncated { missing })
        };
        let line = self
            .lines
            .next_line()?
            .ok_or_else(|| truncated(&self.lines, "its summary"))?;
        if line.is_data() {
            return Ok(Section::Row(line));
        }
        let names = header_names(&line)?;
        if !names.iter().any(|n| n == count_column) {
            return Err(line.err(BillProblem::UnexpectedLine {
                expected: "a row (starting with a backtick) or the summary header",
            }));
        }
        let values = self
            .lines
            .next_line()?
            .ok_or_else(|| truncated(&self.lines, "the summary row"))?;
        if !values.is_data() {
            return Err(values.err(BillProblem::UnexpectedLine {
                expected: "the summary row (starting with a backtick)",
            }));
        }
        if let Some(extra) = self.lines.next_line()? {
            return Err(extra.err(BillProblem::UnexpectedLine {
                expected: "nothing after the summary row",
            }));
        }
        Ok(Section::Summary {
            names,
            header: line,
            values,
        })
    }
}
