//! Alipay's account bill of a day as movements: the `signcustomer` bill (账务明细) asked for with
//! `alipay.data.dataservice.bill.downloadurl.query`, the zip streamed to a temporary file, its
//! detail entry read row by row on a blocking thread. The reader checks the detail's own totals
//! lines against its rows; the summary entry's 合计 row is checked here against the rows too.
//!
//! A row's 业务类型 says what moved (the `alipay` crate's `bill/format.rs` has the sources): a
//! 在线支付 income is a payment's money, a 交易退款 outgo a refund's, both booked under the trade
//! number (业务流水号); a 收费 outgo is a fee and a 收费 income a fee given back, booked under the
//! trade its 备注 names (`交易服务费[<trade_no>]`, `交易服务费退回[…]`). The bill covers the whole
//! merchant account, so other apps' trades are in it too; they and every other 业务类型
//! (transfers, withdrawals) are counted, not set against this app's trade bill.

use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

use super::funds::{FundsChunk, FundsMovement, MovementKind};
use super::run::BillError;
use super::stream::{LineSender, read_path};
use crate::domain::BillDay;

/// Opens `day`'s `signcustomer` bill of the merchant account of the app `client` signs for.
///
/// # Errors
/// As [`super::alipay::open`].
pub async fn open(
    client: &::alipay::Client,
    day: BillDay,
) -> Result<mpsc::Receiver<Result<FundsChunk, BillError>>, BillError> {
    Ok(
        super::alipay::download(client, day, ::alipay::BillType::SignCustomer)
            .await?
            .read_with(read),
    )
}

/// Reads a `signcustomer` bill already on disk, as [`open`] reads the one it downloads.
#[must_use]
pub fn read_file(path: PathBuf) -> mpsc::Receiver<Result<FundsChunk, BillError>> {
    read_path(path, read)
}

/// Reads the bill at `path` into `movements`, ending with its totals or the reason it could not
/// be read whole.
fn read(path: &Path, mut movements: LineSender<FundsMovement>) {
    match read_all(path, &mut movements) {
        Ok(true) => movements.finish(),
        // The run stopped listening: nothing more to do.
        Ok(false) => {}
        Err(e) => movements.fail(e),
    }
}

/// Whether the whole bill was sent.
fn read_all(path: &Path, movements: &mut LineSender<FundsMovement>) -> Result<bool, BillError> {
    let unusable = |e: ::alipay::BillError| BillError::Unusable(e.to_string());
    let mut bill = ::alipay::AccountBill::open(path).map_err(unusable)?;
    let stated = bill.summary().total.clone();
    let mut rows = bill.rows().map_err(unusable)?;
    // Rows with income, rows with outgo, as the summary counts them (a row may have both).
    let (mut incomes, mut outgoes) = (0_u64, 0_u64);
    for row in &mut rows {
        let row = row.map_err(unusable)?;
        incomes += u64::from(row.income.0 != 0);
        outgoes += u64::from(row.outgo.0 != 0);
        for m in movement(&row) {
            if movements.push(m).is_err() {
                return Ok(false);
            }
        }
    }
    if rows.totals().is_none() {
        return Err(BillError::Unusable(
            "the detail ends before its totals".to_owned(),
        ));
    }
    let counted = movements.counted();
    // Outgo is written negative; compare magnitudes, as the reader does with the detail's totals.
    if (
        stated.income_count,
        stated.income.0,
        stated.outgo_count,
        stated.outgo.0.saturating_abs(),
    ) != (incomes, counted.income_fen, outgoes, counted.expense_fen)
    {
        return Err(BillError::Unusable(format!(
            "the summary's 合计 ({} in, {} fen; {} out, {} fen) does not agree with the detail \
             ({incomes} in, {} fen; {outgoes} out, {} fen)",
            stated.income_count,
            stated.income.0,
            stated.outgo_count,
            stated.outgo.0,
            counted.income_fen,
            counted.expense_fen
        )));
    }
    Ok(true)
}

/// A row as movements: one, or two for a row that has both income and outgo.
fn movement(row: &::alipay::AccountBillRow) -> Vec<FundsMovement> {
    use ::alipay::AccountEntryKind;
    let mut out = Vec::with_capacity(1);
    for (fen, incoming) in [(row.income.0, true), (row.outgo.0, false)] {
        if fen == 0 {
            continue;
        }
        let kind = match (&row.kind, incoming) {
            (AccountEntryKind::Payment, true) => MovementKind::Payment,
            (AccountEntryKind::Refund, false) => MovementKind::Refund,
            (AccountEntryKind::Fee, false) => MovementKind::Fee,
            (AccountEntryKind::Fee, true) => MovementKind::FeeReturned,
            _ => MovementKind::Other,
        };
        let booked_under = match kind {
            MovementKind::Other => String::new(),
            MovementKind::Fee | MovementKind::FeeReturned => {
                named_trade(&row.remark).unwrap_or(&row.biz_no).to_owned()
            }
            MovementKind::Payment | MovementKind::Refund => row.biz_no.clone(),
        };
        out.push(FundsMovement {
            kind,
            booked_under,
            // Outgo is written negative; a bill writing it positive is still money out.
            fen: if incoming { fen } else { -fen.saturating_abs() },
        });
    }
    if out.is_empty() {
        // A row that moved nothing is still a row of the bill.
        out.push(FundsMovement {
            kind: MovementKind::Other,
            booked_under: String::new(),
            fen: 0,
        });
    }
    out
}

/// The trade number a fee's 备注 names: `交易服务费[2019…]`.
fn named_trade(remark: &str) -> Option<&str> {
    let start = remark.find('[')? + 1;
    let end = start + remark.get(start..)?.find(']')?;
    remark.get(start..end).filter(|no| !no.is_empty())
}

#[cfg(test)]
mod tests {
    use ::alipay::{AccountBillRow, AccountEntryKind};
    use channel_core::Fen;
    use time::macros::datetime;

    use super::*;

    fn row(kind: AccountEntryKind, income: i64, outgo: i64, remark: &str) -> AccountBillRow {
        AccountBillRow {
            line: 6,
            entry_no: "201909160001".to_owned(),
            biz_no: "2019091622001458860515315453".to_owned(),
            out_trade_no: "order-1".to_owned(),
            subject: "下单测试".to_owned(),
            occurred_at: datetime!(2019-09-16 10:55:23),
            counterparty: String::new(),
            income: Fen(income),
            outgo: Fen(outgo),
            balance: Fen(0),
            channel: "支付宝".to_owned(),
            kind,
            remark: remark.to_owned(),
        }
    }

    fn seen(row: &AccountBillRow) -> Vec<(MovementKind, String, i64)> {
        movement(row)
            .into_iter()
            .map(|m| (m.kind, m.booked_under, m.fen))
            .collect()
    }

    #[test]
    fn each_type_of_row_is_the_movement_it_names() {
        let trade = "2019091622001458860515315453".to_owned();
        assert_eq!(
            seen(&row(AccountEntryKind::Payment, 10_000, 0, "")),
            [(MovementKind::Payment, trade.clone(), 10_000)]
        );
        assert_eq!(
            seen(&row(AccountEntryKind::Refund, 0, -3_000, "")),
            [(MovementKind::Refund, trade.clone(), -3_000)]
        );
        // A fee is booked under the trade its remark names.
        assert_eq!(
            seen(&row(
                AccountEntryKind::Fee,
                0,
                -60,
                "交易服务费[2019091622001458860515319999]"
            )),
            [(
                MovementKind::Fee,
                "2019091622001458860515319999".to_owned(),
                -60
            )]
        );
        assert_eq!(
            seen(&row(AccountEntryKind::Fee, 18, 0, "交易服务费退回[]")),
            [(MovementKind::FeeReturned, trade, 18)]
        );
        assert_eq!(
            seen(&row(
                AccountEntryKind::Other("提现".to_owned()),
                0,
                -500,
                ""
            )),
            [(MovementKind::Other, String::new(), -500)]
        );
        // Money in under 交易退款 is no refund.
        assert_eq!(
            seen(&row(AccountEntryKind::Refund, 100, 0, "")),
            [(MovementKind::Other, String::new(), 100)]
        );
    }
}
