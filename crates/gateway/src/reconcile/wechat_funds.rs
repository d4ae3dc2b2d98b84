//! WeChat Pay's account bill of a day as movements: the fund-flow bill (资金账单) of the basic
//! account, applied for (`GET /v3/bill/fundflowbill`, `account_type=BASIC`, gzip), streamed to a
//! temporary file with its SHA1 checked, then read row by row on a blocking thread. The reader
//! checks the summary row against the rows; the stream ends with its summary only once the whole
//! file was read.
//!
//! A row's 业务名称 and 业务类型 say what moved (WeChat Pay's fund-flow format page): under 交易,
//! a 交易 income is a payment's money (booked under its transaction id) and a 扣除交易手续费
//! expense its fee; under 退款, a 退款 expense is a refund's money (booked under the refund id) and
//! a 退还交易手续费 income the fee it gives back. A 退款关闭 (a refund closed: its money back) and
//! the fee taken again with it, withdrawals (充值/提现), payouts (企业付款) and the rest are no
//! trade's movement.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

use super::funds::{FundsChunk, FundsMovement, MovementKind};
use super::run::BillError;
use super::stream::{LineSender, read_path};
use crate::domain::BillDay;

/// Opens `day`'s fund-flow bill of the basic account of the merchant `client` signs for.
///
/// # Errors
/// As [`super::wechat::open`].
pub async fn open(
    client: &::wechatpay::Client,
    day: BillDay,
) -> Result<mpsc::Receiver<Result<FundsChunk, BillError>>, BillError> {
    let applied = client
        .apply_fund_flow_bill(
            day.date(),
            Some(::wechatpay::FundAccountType::Basic),
            Some(::wechatpay::TarType::Gzip),
        )
        .await;
    Ok(super::wechat::download(client, day, applied)
        .await?
        .read_with(read))
}

/// Reads a fund-flow bill already on disk (uncompressed), as [`open`] reads the one it downloads.
#[must_use]
pub fn read_file(path: PathBuf) -> mpsc::Receiver<Result<FundsChunk, BillError>> {
    read_path(path, read)
}

/// Reads the bill at `path` into `movements`, ending with its totals or the reason it could not
/// be read whole.
fn read(path: &Path, mut movements: LineSender<FundsMovement>) {
    let unusable = |e: ::wechatpay::bill_file::BillFileError| BillError::Unusable(e.to_string());
    let outcome = (|| {
        let input = std::fs::File::open(path)
            .map_err(|e| BillError::Unusable(format!("the bill's temporary file: {e}")))?;
        let mut reader = ::wechatpay::bill_file::FundFlowBillReader::new(BufReader::new(input))
            .map_err(unusable)?;
        while let Some(row) = reader.next_row().map_err(unusable)? {
            if movements.push(movement(&row)).is_err() {
                return Ok(false);
            }
        }
        if reader.summary().is_none() {
            return Err(BillError::Unusable(
                "the bill ends before its summary".to_owned(),
            ));
        }
        Ok(true)
    })();
    match outcome {
        Ok(true) => movements.finish(),
        // The run stopped listening: nothing more to do.
        Ok(false) => {}
        Err(e) => movements.fail(e),
    }
}

fn movement(row: &::wechatpay::bill_file::FundFlowRow) -> FundsMovement {
    use ::wechatpay::bill_file::FundDirection::{Expense, Income};
    let kind = match (
        row.business_name.as_str(),
        row.business_type.as_str(),
        row.direction,
    ) {
        ("交易", "交易", Income) => MovementKind::Payment,
        ("交易", "扣除交易手续费", Expense) => MovementKind::Fee,
        ("退款", "退款", Expense) => MovementKind::Refund,
        ("退款", "退还交易手续费", Income) => MovementKind::FeeReturned,
        _ => MovementKind::Other,
    };
    FundsMovement {
        kind,
        booked_under: if kind == MovementKind::Other {
            String::new()
        } else {
            row.business_id.clone()
        },
        fen: match row.direction {
            Income => row.amount,
            Expense => -row.amount,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::reconcile::funds::MovementTotals;

    const HEADER: &str = "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号";
    /// A payment, its fee, a refund with the fee it gives back, a refund closed (its money back and
    /// the fee taken again) and a withdrawal, written out by hand in WeChat Pay's format.
    const ROWS: [&str; 8] = [
        "`2024-03-05 10:15:01,`4200000263202403057700134212,`1900000109202403050000000001,`交易,`交易,`收入,`29.90,`129.90,`system,`,`T20240305001",
        "`2024-03-05 10:15:01,`4200000263202403057700134212,`1900000109202403050000000002,`交易,`扣除交易手续费,`支出,`0.18,`129.72,`system,`,`T20240305001",
        "`2024-03-05 18:30:00,`50300806962024030505978994968,`1900000109202403050000000003,`退款,`退款,`支出,`10.00,`119.72,`1900000109API,`,`R20240305001",
        "`2024-03-05 18:30:00,`50300806962024030505978994968,`1900000109202403050000000004,`退款,`退还交易手续费,`收入,`0.06,`119.78,`1900000109API,`,`R20240305001",
        "`2024-03-05 19:00:00,`50300806962024030405978990001,`1900000109202403050000000005,`退款,`退款关闭,`收入,`5.00,`124.78,`system,`,`R20240304009",
        "`2024-03-05 19:00:00,`50300806962024030405978990001,`1900000109202403050000000006,`退款,`扣除交易手续费,`支出,`0.03,`124.75,`system,`,`R20240304009",
        "`2024-03-05 20:00:00,`1900000109202403051234,`1900000109202403050000000007,`充值/提现,`提现,`支出,`100.00,`24.75,`admin@1900000109,`,`",
        "`2024-03-05 21:00:00,`4200000263202403057700139999,`1900000109202403050000000008,`交易,`交易,`支出,`1.00,`23.75,`system,`,`T20240305999",
    ];
    const SUMMARY: &str =
        "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额\r\n`8,`3,`34.96,`5,`111.21\r\n";

    fn on_disk(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    async fn collect(
        mut rx: mpsc::Receiver<Result<FundsChunk, BillError>>,
    ) -> (Vec<FundsMovement>, Result<MovementTotals, BillError>) {
        let mut all = Vec::new();
        while let Some(chunk) = rx.recv().await {
            match chunk {
                Ok(FundsChunk::Movements(m)) => all.extend(m),
                Ok(FundsChunk::Summary(t)) => return (all, Ok(t)),
                Err(e) => return (all, Err(e)),
            }
        }
        (all, Err(BillError::Unusable("no summary".to_owned())))
    }

    #[tokio::test]
    async fn each_row_is_a_trades_movement_or_another_and_the_totals_follow() {
        let file = on_disk(&format!("{HEADER}\r\n{}\r\n{SUMMARY}", ROWS.join("\r\n")));
        let (movements, totals) = collect(read_file(file.path().to_owned())).await;
        let seen: Vec<_> = movements
            .iter()
            .map(|m| (m.kind, m.booked_under.as_str(), m.fen))
            .collect();
        assert_eq!(
            seen,
            [
                (MovementKind::Payment, "4200000263202403057700134212", 2990),
                (MovementKind::Fee, "4200000263202403057700134212", -18),
                (MovementKind::Refund, "50300806962024030505978994968", -1000),
                (
                    MovementKind::FeeReturned,
                    "50300806962024030505978994968",
                    6
                ),
                (MovementKind::Other, "", 500),
                (MovementKind::Other, "", -3),
                (MovementKind::Other, "", -10_000),
                // A 交易 row going out is no payment: counted, never taken for one.
                (MovementKind::Other, "", -100),
            ]
        );
        assert_eq!(
            totals.unwrap(),
            MovementTotals {
                movements: 8,
                income_fen: 3496,
                expense_fen: 11_121
            }
        );
    }

    #[tokio::test]
    async fn a_bill_cut_short_ends_in_an_error_not_a_summary() {
        let whole = format!("{HEADER}\r\n{}\r\n{SUMMARY}", ROWS.join("\r\n"));
        for cut in [
            format!("{HEADER}\r\n{}\r\n", ROWS[..5].join("\r\n")),
            whole[..whole.len() - 20].to_owned(),
        ] {
            let file = on_disk(&cut);
            let (_, totals) = collect(read_file(file.path().to_owned())).await;
            assert!(
                matches!(totals, Err(BillError::Unusable(_))),
                "{totals:?} for {cut:?}"
            );
        }
    }
}
