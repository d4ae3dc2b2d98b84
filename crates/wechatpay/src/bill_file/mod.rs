//! Reading WeChat Pay's trade and fund-flow bill files as they stream in, one line at a time.
//!
//! [`TradeBillReader`] and [`FundFlowBillReader`] take any [`std::io::BufRead`] (a file, a
//! decompressing reader) and yield typed rows; once the last row is read they read the summary,
//! check it against the rows, and make it available. Nothing is kept but the running totals, so a
//! bill of a million rows reads in constant memory. Any problem is an error naming the line
//! (1-based, counting the header) and what is wrong; a file that ends before its summary is an
//! error too, never a shorter bill.
//!
//! ```no_run
//! # fn demo(file: std::fs::File) -> Result<(), wechatpay::BillFileError> {
//! let mut bill = wechatpay::TradeBillReader::new(std::io::BufReader::new(file))?;
//! while let Some(row) = bill.next_row()? {
//!     let _ = (row.out_trade_no, row.status, row.total);
//! }
//! let summary = bill.summary(); // Some: the file was whole and its totals agree with its rows
//! # let _ = summary; Ok(()) }
//! ```
//!
//! # The format, and where each fact comes from
//!
//! Sources (read through stored copies of the pages):
//! - \[T\] WeChat Pay, 交易账单详细说明 (updated 2024-11-25),
//!   <https://pay.weixin.qq.com/docs/merchant/products/bill-download/format-trade.html>
//! - \[F\] WeChat Pay, 资金账单详细说明 (updated 2024-11-25),
//!   <https://pay.weixin.qq.com/docs/merchant/products/bill-download/format-fundflow.html>, and
//!   资金账单结构说明, <https://pay.weixin.qq.com/docs/merchant/products/bill-download/structure/fund-bill.html>
//! - \[A\] WeChat Pay, 申请交易账单 / 申请资金账单,
//!   <https://pay.weixin.qq.com/docs/merchant/apis/combine-payment/bill-download/get-trade-bill.html>,
//!   <https://pay.weixin.qq.com/doc/v3/partner/4012759690>
//! - \[P\] the official PHP SDK's test bill, `wechatpay-apiv3/wechatpay-php` `tests/fixtures/bill.ALL.csv`
//!   (45 rows of a real ALL bill, refunds included)
//! - \[J\] WxJava's bill tests, `binarywang/WxJava` `WxPayBillResultTest`: an ALL row of 6.00 with
//!   fee `0.04000` at `0.60%`, a REFUND bill whose summary fee is `-0.02000`; and real rows quoted
//!   in third-party clients' tests: a REFUND row of 260.00 with fee `-1.56000` at `0.60%`, a
//!   payment of 32.50 with fee `0.20000` at `0.60%`.
//! - \[B\] a merchant's account of parsing real downloads ("原始的账单的文本数据包含了 \r\n 换行符",
//!   and an invisible character before the first header: a BOM),
//!   <http://www.gxitsky.com/2020/07/24/Business-06-wx-pay-bill/>
//!
//! Both bills (\[T\], \[F\]):
//! - UTF-8 text, fields separated by an ASCII comma, no quoting: a comma inside a value would end
//!   the field, which is why WeChat escapes the merchant's own text (\[F\] §3: a `\1` becomes a
//!   space, CR and LF become the two characters `\r` and `\n`). Values are kept here as written.
//! - Four parts: the detail header, the detail rows, the summary header, the summary row. The
//!   headers are plain; every field of a detail or summary row starts with one backtick (`` ` ``),
//!   added so spreadsheets keep long ids as text, and removed here.
//! - Column order is not promised (\[T\] lists different orders per bill type): columns are found by
//!   name, and columns this reader does not know are skipped.
//! - Lines end in LF or CRLF (\[P\] uses LF; downloads were seen with CRLF, \[B\]);
//!   a UTF-8 BOM may start the file (\[B\]). Both are accepted.
//! - Amounts are yuan with two decimals (`29.90`); fees with five (`0.18000`, `-1.56000`), always
//!   a whole number of fen in every real bill seen (\[P\], \[J\]). Summary rows were seen with one
//!   decimal (`45.0`, `0.0` in \[P\] and \[F\]'s sample `20.0,17.0,0.35,3.0,0.18`), so counts may
//!   carry `.0`. Amounts are read into `i64` fen without floats; a fee digit past the fen that is
//!   not zero, or a third decimal in any other amount, is an error rather than a rounding.
//! - Times are `yyyy-MM-dd HH:mm:ss` in China time (UTC+8); they are returned at that offset.
//! - A day with nothing to bill has no file: applying for it answers HTTP 400 `NO_STATEMENT_EXIST`
//!   (账单文件不存在), a final answer, not an empty file (WeChat's error list for the bill APIs, as
//!   quoted by third-party notes; not read first-hand). Bills are made from 9–10 o'clock the next
//!   morning (\[A\]; `STATEMENT_CREATING` before that).
//!
//! Trade bill (\[T\]), type ALL:
//! - Detail columns: 交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,
//!   交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,
//!   充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注.
//!   SUCCESS bills lack the eight refund columns; REFUND bills add 退款申请时间,退款成功时间 after
//!   代金券金额. Summary: 总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,
//!   订单总金额,申请退款总金额 (SUCCESS: 总交易单数,应结订单总金额,手续费总金额,订单总金额).
//! - A row is a payment (交易状态 `SUCCESS`; `REVOKED` for a revoked one) dated by its payment
//!   time, or a refund (`REFUND`) dated by when the refund was accepted — not when it succeeded —
//!   on the day it was accepted. An order paid and refunded the same day has two rows.
//! - 交易时间 is the payment time or the refund's acceptance time (in a REFUND bill, the order's
//!   payment time, with the refund's times in their own columns, as \[J\]'s samples show).
//! - 特约商户号 is `0` for a direct merchant (read here as `None`).
//! - On a payment row the refund columns read `0`,`0`,`0.00`,`0.00`,``,`` (\[P\]). On a refund row
//!   the order's own fields (ids, appid, openid, 商品名称, 商户数据包) are repeated, 应结订单金额 and
//!   订单金额 are `0.00`, 退款金额 is the refund less 免充值 coupons, 申请退款金额 the refund asked.
//! - 退款状态 is the refund's status when the file was made (`SUCCESS`, `PROCESSING`, …) and is not
//!   updated afterwards.
//! - 手续费 is positive on a payment and negative on a refund (the fee given back), `0.60%`-style
//!   费率 beside it; the summary's 手续费总金额 is their signed sum (\[J\]: `-0.02000`). The fee is
//!   the amount times the rate rounded to the fen (\[J\]: 6.00 → 0.036 → `0.04000`; 32.50 → 0.195 →
//!   `0.20000`; \[P\]: 0.03 at 39% → `0.01000`).
//! - 总交易单数 counts every detail row, payments and refunds alike; each summary amount is the sum
//!   of its column (\[P\]: 45 rows, 0.47 settled, 0.14 refunded, 0.08 fees).
//! - A few merchants still get the early format (总金额 and 企业红包金额 instead of 应结订单金额 and
//!   代金券金额) until they enable 免充值优惠券 (\[T\]); this reader refuses it by naming the missing
//!   column.
//!
//! Fund-flow bill (\[F\]):
//! - Detail columns: 记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),
//!   账户结余(元),资金变更提交申请人,备注,业务凭证号 — ASCII parentheses in the documents and in
//!   every sample; full-width ones are accepted too. Summary: 资金流水总笔数,收入笔数,收入金额,
//!   支出笔数,支出金额.
//! - 记账时间 is when the balance changed. 业务名称 is for example 交易, 退款; 业务类型 交易,
//!   扣除交易手续费, 退款, 退款关闭, 退还交易手续费. 收支类型 is 收入 (balance up) or 支出 (down);
//!   收支金额 is never negative and 账户结余 is the balance after the row.
//! - The summary counts and sums the rows by 收支类型.

mod fund_flow;
mod lines;
mod sections;
#[cfg(test)]
mod tests;
mod trade;

pub use fund_flow::{FundDirection, FundFlowBillReader, FundFlowRow, FundFlowSummary};
pub use lines::{BillFileError, BillProblem};
pub use trade::{
    BillRefundStatus, TradeBillReader, TradeBillRefund, TradeBillRow, TradeBillStatus,
    TradeBillSummary,
};
