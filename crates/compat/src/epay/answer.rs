//! EPay's JSON answers: `mapi.php`'s payment, `api.php`'s order and refund.

use serde_json::{Value, json};

use super::money::money_two_decimals;

/// How the payer pays a `mapi.php` order: exactly one of these is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayTarget {
    /// A page to open (`payurl`).
    PayUrl(String),
    /// The content of a QR code to show (`qrcode`).
    QrCode(String),
    /// A link that opens the channel's app (`urlscheme`).
    UrlScheme(String),
}

/// `mapi.php`'s success: `{"code":1,"trade_no":…,"payurl"|"qrcode"|"urlscheme":…}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayAnswer {
    pub trade_no: String,
    pub target: PayTarget,
}

impl PayAnswer {
    #[must_use]
    pub fn to_json(&self) -> Value {
        let (field, value) = match &self.target {
            PayTarget::PayUrl(v) => ("payurl", v),
            PayTarget::QrCode(v) => ("qrcode", v),
            PayTarget::UrlScheme(v) => ("urlscheme", v),
        };
        let mut answer = json!({ "code": 1, "trade_no": self.trade_no });
        answer[field] = Value::String(value.clone());
        answer
    }
}

/// `api.php?act=order`'s success. Times are China time, `YYYY-MM-DD HH:MM:SS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderAnswer {
    pub trade_no: String,
    pub out_trade_no: String,
    /// The channel's own number, once paid.
    pub api_trade_no: Option<String>,
    /// The EPay name of the method (`alipay`, `wxpay`), once known.
    pub type_name: Option<String>,
    pub pid: i64,
    pub addtime: String,
    pub endtime: Option<String>,
    pub name: String,
    pub money_fen: i64,
    pub param: Option<String>,
    pub buyer: Option<String>,
    pub paid: bool,
    pub payurl: Option<String>,
}

impl OrderAnswer {
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "code": 1,
            "msg": "succ",
            "trade_no": self.trade_no,
            "out_trade_no": self.out_trade_no,
            "api_trade_no": self.api_trade_no,
            "type": self.type_name,
            "pid": self.pid,
            "addtime": self.addtime,
            "endtime": self.endtime,
            "name": self.name,
            "money": money_two_decimals(self.money_fen),
            "param": self.param,
            "buyer": self.buyer,
            "status": i32::from(self.paid),
            "payurl": self.payurl,
        })
    }
}

/// `api.php?act=refund`'s success, which V1 answers with code `0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundAnswer {
    pub trade_no: String,
    pub out_refund_no: String,
    pub money_fen: i64,
}

impl RefundAnswer {
    #[must_use]
    pub fn to_json(&self) -> Value {
        let money = money_two_decimals(self.money_fen);
        json!({
            "code": 0,
            "msg": format!("退款成功！退款金额￥{money}"),
            "trade_no": self.trade_no,
            "out_refund_no": self.out_refund_no,
            "money": money,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payment_answers_exactly_one_way_to_pay() {
        let a = PayAnswer {
            trade_no: "t".into(),
            target: PayTarget::QrCode("weixin://wxpay/x".into()),
        }
        .to_json();
        assert_eq!(
            a,
            json!({"code": 1, "trade_no": "t", "qrcode": "weixin://wxpay/x"})
        );
    }

    #[test]
    fn the_query_shows_money_with_two_decimals_and_status_as_a_number() {
        let a = OrderAnswer {
            trade_no: "t".into(),
            out_trade_no: "o".into(),
            api_trade_no: None,
            type_name: Some("alipay".into()),
            pid: 7,
            addtime: "2026-12-01 12:00:00".into(),
            endtime: None,
            name: "n".into(),
            money_fen: 1050,
            param: None,
            buyer: None,
            paid: true,
            payurl: None,
        }
        .to_json();
        assert_eq!(
            (
                a["money"].as_str(),
                a["status"].as_i64(),
                a["code"].as_i64()
            ),
            (Some("10.50"), Some(1), Some(1))
        );
        let r = RefundAnswer {
            trade_no: "t".into(),
            out_refund_no: "r".into(),
            money_fen: 150,
        }
        .to_json();
        assert_eq!(
            (r["code"].as_i64(), r["msg"].as_str()),
            (Some(0), Some("退款成功！退款金额￥1.50"))
        );
    }
}
