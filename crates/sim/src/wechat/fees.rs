//! WeChat Pay's fee (手续费) as the simulator charges it: 0.6 % of what is paid, rounded to the fen
//! half up — real bills show 6.00 → `0.04000`, 32.50 → `0.20000` at `0.60%` — and given back on a
//! refund in proportion to the refund, as the refund API's `refund_fee` is described ("一笔100元的
//! 订单收了0.6元手续费，商户申请退款50元，该金额为等比退还的0.3元"). So that the fees given back
//! never add up to more than was charged, a refund never gives back more than is left of the fee,
//! and the refund that empties the order gives back all that is left (the simulator's choice:
//! WeChat does not document how it spreads the rounding).

/// The rate as bills write it (费率).
pub const RATE_TEXT: &str = "0.60%";

/// The fee on a payment of `amount` fen.
pub fn charged(amount: i64) -> i64 {
    // 0.6 % = 6 / 1000; adding half the divisor rounds half up (amounts are never negative).
    (amount.max(0) * 6 + 500) / 1000
}

/// The fee given back by a refund of `refund` fen, when `returned` was already given back and the
/// order (of `billed` fen) is refunded `refunded` fen in all, this refund included.
pub fn given_back(billed: i64, returned: i64, refund: i64, refunded: i64, total: i64) -> i64 {
    let left = (charged(billed) - returned).max(0);
    if refunded >= total {
        left
    } else {
        charged(refund).min(left)
    }
}

/// A fee as bills write it, with five decimals: `0.18000`, `-0.06000`.
pub fn text(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}000", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_round_half_up_and_never_give_back_more_than_was_charged() {
        assert_eq!(charged(600), 4); // 0.036
        assert_eq!(charged(3250), 20); // 0.195
        assert_eq!(charged(2990), 18); // 0.1794
        assert_eq!(charged(83), 0); // 0.00498
        assert_eq!(charged(84), 1); // 0.00504
        // 100.00 charged 0.60, refunded 50.00 then 50.00: 0.30 and 0.30.
        assert_eq!(given_back(10000, 0, 5000, 5000, 10000), 30);
        assert_eq!(given_back(10000, 30, 5000, 10000, 10000), 30);
        // 29.90 charged 0.18, refunded in three parts: the last one takes the rounding.
        let first = given_back(2990, 0, 1000, 1000, 2990);
        let second = given_back(2990, first, 1000, 2000, 2990);
        let last = given_back(2990, first + second, 990, 2990, 2990);
        assert_eq!((first, second, last), (6, 6, 6));
        assert_eq!(text(18), "0.18000");
        assert_eq!(text(-156), "-1.56000");
        assert_eq!(text(0), "0.00000");
    }
}
