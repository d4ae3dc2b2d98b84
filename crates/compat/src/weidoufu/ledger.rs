//! `ledger`: who shares an order's money (分账接收方), documented as a JSON array in a string,
//! `'[{"amount":1,"sub_mch_no":"xxxxxxxx"}]'`, and accepted as the array itself too.

use channel_core::money::Fen;
use serde_json::Value;

use super::RequestError;
use super::fields::integer;

/// The documentation's `string(512)` for the ledger as text.
const MAX_TEXT_CHARS: usize = 512;

/// One receiver of part of an order's money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// At least one fen.
    pub amount: Fen,
    /// The receiver's sub-merchant number at weidoufu, kept as sent.
    pub sub_mch_no: String,
}

/// The receivers in `value` (absent, `null`, `""` or `[]`: none), whose amounts together do not
/// exceed `total_fee`.
pub(super) fn parse(
    value: Option<&Value>,
    total_fee: Fen,
) -> Result<Vec<LedgerEntry>, RequestError> {
    let parsed;
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(text)) if text.is_empty() => return Ok(Vec::new()),
        Some(Value::String(text)) => {
            if text.chars().count() > MAX_TEXT_CHARS {
                return Err(RequestError::TooLong {
                    field: "ledger",
                    max: MAX_TEXT_CHARS,
                });
            }
            parsed = serde_json::from_str::<Value>(text)
                .map_err(|_| RequestError::BadLedger("不是有效的 JSON"))?;
            match &parsed {
                Value::Array(items) => items,
                _ => return Err(RequestError::BadLedger("应为 JSON 数组")),
            }
        }
        Some(Value::Array(items)) => items,
        Some(_) => return Err(RequestError::BadLedger("应为 JSON 数组")),
    };
    let entries = items.iter().map(entry).collect::<Result<Vec<_>, _>>()?;
    let shared = entries
        .iter()
        .try_fold(0i64, |sum, entry| sum.checked_add(entry.amount.0))
        .ok_or(RequestError::LedgerOverTotal)?;
    if shared > total_fee.0 {
        return Err(RequestError::LedgerOverTotal);
    }
    Ok(entries)
}

fn entry(item: &Value) -> Result<LedgerEntry, RequestError> {
    let Value::Object(members) = item else {
        return Err(RequestError::BadLedger(
            "每一项应为含 amount 与 sub_mch_no 的对象",
        ));
    };
    let amount = members
        .get("amount")
        .and_then(integer)
        .filter(|fen| *fen >= 1)
        .ok_or(RequestError::BadLedger(
            "amount 应为不小于 1 的整数（单位：分）",
        ))?;
    let sub_mch_no = match members.get("sub_mch_no") {
        Some(Value::String(number)) if !number.is_empty() => number.clone(),
        _ => return Err(RequestError::BadLedger("sub_mch_no 应为非空字符串")),
    };
    Ok(LedgerEntry {
        amount: Fen(amount),
        sub_mch_no,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn entry(amount: i64, sub_mch_no: &str) -> LedgerEntry {
        LedgerEntry {
            amount: Fen(amount),
            sub_mch_no: sub_mch_no.into(),
        }
    }

    #[test]
    fn a_ledger_is_read_from_its_json_text_or_from_the_array_itself() {
        let text =
            json!(r#"[{"amount":30,"sub_mch_no":"M001"},{"amount":70,"sub_mch_no":"M002"}]"#);
        let expected = vec![entry(30, "M001"), entry(70, "M002")];
        assert_eq!(parse(Some(&text), Fen(100)), Ok(expected.clone()));
        let array =
            json!([{"amount": 30, "sub_mch_no": "M001"}, {"amount": 70, "sub_mch_no": "M002"}]);
        assert_eq!(parse(Some(&array), Fen(100)), Ok(expected));
    }

    #[test]
    fn no_ledger_is_an_empty_one() {
        for value in [json!(null), json!(""), json!("[]"), json!([])] {
            assert_eq!(parse(Some(&value), Fen(1)), Ok(Vec::new()));
        }
        assert_eq!(parse(None, Fen(1)), Ok(Vec::new()));
    }

    #[test]
    fn amounts_shared_beyond_the_order_total_are_refused() {
        let over = json!([{"amount": 60, "sub_mch_no": "A"}, {"amount": 41, "sub_mch_no": "B"}]);
        assert_eq!(
            parse(Some(&over), Fen(100)),
            Err(RequestError::LedgerOverTotal)
        );
        let whole = json!([{"amount": 60, "sub_mch_no": "A"}, {"amount": 40, "sub_mch_no": "B"}]);
        assert!(parse(Some(&whole), Fen(100)).is_ok());
        let overflow = json!([
            {"amount": i64::MAX, "sub_mch_no": "A"},
            {"amount": 1, "sub_mch_no": "B"}
        ]);
        assert_eq!(
            parse(Some(&overflow), Fen(100)),
            Err(RequestError::LedgerOverTotal)
        );
    }

    #[test]
    fn a_ledger_that_is_not_a_json_array_of_receivers_is_refused() {
        let refused = [
            json!("[{amount:1}"),
            json!(r#"{"amount":1,"sub_mch_no":"A"}"#),
            json!(7),
            json!([1]),
            json!([{"amount": 0, "sub_mch_no": "A"}]),
            json!([{"amount": -5, "sub_mch_no": "A"}]),
            json!([{"amount": 1.5, "sub_mch_no": "A"}]),
            json!([{"amount": 1}]),
            json!([{"amount": 1, "sub_mch_no": ""}]),
        ];
        for value in refused {
            assert!(
                matches!(
                    parse(Some(&value), Fen(100)),
                    Err(RequestError::BadLedger(_))
                ),
                "{value} was not refused as a bad ledger"
            );
        }
        let long = json!(format!("[{}]", " ".repeat(MAX_TEXT_CHARS)));
        assert_eq!(
            parse(Some(&long), Fen(100)),
            Err(RequestError::TooLong {
                field: "ledger",
                max: MAX_TEXT_CHARS
            })
        );
    }
}
