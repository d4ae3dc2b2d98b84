//! The `data` of each answer, field for field as Jeepay's `*RS` classes serialise: `UnifiedOrderRS`,
//! `QueryPayOrderRS`, `ClosePayOrderRS`, `RefundOrderRS` and `QueryRefundOrderRS`.

use channel_core::Fen;

use super::answer::{AnswerData, Fields};
use super::{PayState, RefundState, WayCode};

/// The only currency paygate's channels take, as Jeepay spells it.
pub const CURRENCY: &str = "cny";

/// How the client is to use `payData` (`CS.PAY_DATA_TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayDataType {
    /// Send the payer to this URL.
    PayUrl,
    /// Submit this HTML form (Alipay's PC and WAP pages).
    Form,
    /// WeChat's JSAPI or mini-program parameters, a JSON object's text.
    WxApp,
    /// Alipay's JSAPI parameters: `{"alipayTradeNo":…}`.
    AliApp,
    /// Show this text as a QR code.
    CodeUrl,
    /// Show the image at this URL (a QR code).
    CodeImgUrl,
    /// Nothing to do.
    None,
}

impl PayDataType {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PayUrl => "payurl",
            Self::Form => "form",
            Self::WxApp => "wxapp",
            Self::AliApp => "aliapp",
            Self::CodeUrl => "codeUrl",
            Self::CodeImgUrl => "codeImgUrl",
            Self::None => "none",
        }
    }
}

/// What the client is to do next, which Jeepay gives only while the order is created, paying or
/// paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayData {
    pub kind: PayDataType,
    pub data: String,
}

/// The answer to `unifiedOrder`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayOrderCreated {
    pub pay_order_id: String,
    pub mch_order_no: String,
    pub order_state: PayState,
    pub pay_data: Option<PayData>,
    /// The channel's refusal, for a failed order.
    pub err_code: Option<String>,
    pub err_msg: Option<String>,
}

impl AnswerData for PayOrderCreated {
    fn fields(&self) -> Fields {
        Fields::new()
            .text("payOrderId", &self.pay_order_id)
            .text("mchOrderNo", &self.mch_order_no)
            .number("orderState", self.order_state.code().into())
            .maybe_text(
                "payDataType",
                self.pay_data.as_ref().map(|p| p.kind.as_str()),
            )
            .maybe_text("payData", self.pay_data.as_ref().map(|p| p.data.as_str()))
            .maybe_text("errCode", self.err_code.as_deref())
            .maybe_text("errMsg", self.err_msg.as_deref())
    }
}

/// A pay order as `/api/pay/query` shows it, and as its notification reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayOrderView {
    pub pay_order_id: String,
    pub mch_no: String,
    pub app_id: String,
    pub mch_order_no: String,
    /// The channel interface, in Jeepay's words (`wxpay`, `alipay`); none while a cashier order
    /// (`QR_CASHIER`) waits for the payer to pick one, as Jeepay leaves it `null` then.
    pub if_code: Option<String>,
    pub way_code: WayCode,
    pub amount: Fen,
    pub state: PayState,
    pub client_ip: Option<String>,
    pub subject: String,
    pub body: String,
    pub channel_order_no: Option<String>,
    pub err_code: Option<String>,
    pub err_msg: Option<String>,
    pub ext_param: Option<String>,
    /// Milliseconds since the epoch.
    pub success_time: Option<i64>,
    /// Milliseconds since the epoch.
    pub created_at: i64,
}

impl AnswerData for PayOrderView {
    fn fields(&self) -> Fields {
        Fields::new()
            .text("payOrderId", &self.pay_order_id)
            .text("mchNo", &self.mch_no)
            .text("appId", &self.app_id)
            .text("mchOrderNo", &self.mch_order_no)
            .maybe_text("ifCode", self.if_code.as_deref())
            .text("wayCode", self.way_code.as_str())
            .number("amount", self.amount.0)
            .text("currency", CURRENCY)
            .number("state", self.state.code().into())
            .maybe_text("clientIp", self.client_ip.as_deref())
            .text("subject", &self.subject)
            .text("body", &self.body)
            .maybe_text("channelOrderNo", self.channel_order_no.as_deref())
            .maybe_text("errCode", self.err_code.as_deref())
            .maybe_text("errMsg", self.err_msg.as_deref())
            .maybe_text("extParam", self.ext_param.as_deref())
            .maybe_number("successTime", self.success_time)
            .number("createdAt", self.created_at)
    }
}

/// The answer to `/api/pay/close`: Jeepay's `ClosePayOrderRS` serialises no field, so `data` is
/// `{}` and its signature is over the key alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayOrderClosed;

impl AnswerData for PayOrderClosed {
    fn fields(&self) -> Fields {
        Fields::new()
    }
}

/// The answer to `refundOrder`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundCreated {
    pub refund_order_id: String,
    pub mch_refund_no: String,
    pub pay_amount: Fen,
    pub refund_amount: Fen,
    pub state: RefundState,
    pub channel_order_no: Option<String>,
    pub err_code: Option<String>,
    pub err_msg: Option<String>,
}

impl AnswerData for RefundCreated {
    fn fields(&self) -> Fields {
        Fields::new()
            .text("refundOrderId", &self.refund_order_id)
            .text("mchRefundNo", &self.mch_refund_no)
            .number("payAmount", self.pay_amount.0)
            .number("refundAmount", self.refund_amount.0)
            .number("state", self.state.code().into())
            .maybe_text("channelOrderNo", self.channel_order_no.as_deref())
            .maybe_text("errCode", self.err_code.as_deref())
            .maybe_text("errMsg", self.err_msg.as_deref())
    }
}

/// A refund order as `/api/refund/query` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundView {
    pub refund_order_id: String,
    pub pay_order_id: String,
    pub mch_no: String,
    pub app_id: String,
    pub mch_refund_no: String,
    pub pay_amount: Fen,
    pub refund_amount: Fen,
    pub state: RefundState,
    pub channel_order_no: Option<String>,
    pub err_code: Option<String>,
    pub err_msg: Option<String>,
    pub ext_param: Option<String>,
    /// Milliseconds since the epoch.
    pub success_time: Option<i64>,
    /// Milliseconds since the epoch.
    pub created_at: i64,
}

impl AnswerData for RefundView {
    fn fields(&self) -> Fields {
        Fields::new()
            .text("refundOrderId", &self.refund_order_id)
            .text("payOrderId", &self.pay_order_id)
            .text("mchNo", &self.mch_no)
            .text("appId", &self.app_id)
            .text("mchRefundNo", &self.mch_refund_no)
            .number("payAmount", self.pay_amount.0)
            .number("refundAmount", self.refund_amount.0)
            .text("currency", CURRENCY)
            .number("state", self.state.code().into())
            .maybe_text("channelOrderNo", self.channel_order_no.as_deref())
            .maybe_text("errCode", self.err_code.as_deref())
            .maybe_text("errMsg", self.err_msg.as_deref())
            .maybe_text("extParam", self.ext_param.as_deref())
            .maybe_number("successTime", self.success_time)
            .number("createdAt", self.created_at)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use serde_json::json;

    use super::*;
    use crate::jeepay::ok_with_sign;

    /// A paid WeChat Native order.
    pub(crate) fn paid_order() -> PayOrderView {
        PayOrderView {
            pay_order_id: "P202401010001".into(),
            mch_no: "M1".into(),
            app_id: "app1".into(),
            mch_order_no: "mo1".into(),
            if_code: Some("wxpay".into()),
            way_code: WayCode::WxNative,
            amount: Fen(2990),
            state: PayState::Succeeded,
            client_ip: None,
            subject: "VIP月卡".into(),
            body: "一个月".into(),
            channel_order_no: Some("4200000001".into()),
            err_code: None,
            err_msg: None,
            ext_param: None,
            success_time: Some(1_700_000_100_000),
            created_at: 1_700_000_000_000,
        }
    }

    // Each sign below: python3 -c "import hashlib; print(hashlib.md5('<the sorted string>&key=SECRET'.encode()).hexdigest().upper())"

    #[test]
    fn a_query_answer_signs_every_present_field_of_the_order() {
        // amount=2990&appId=app1&body=一个月&channelOrderNo=4200000001&createdAt=1700000000000&currency=cny&ifCode=wxpay&mchNo=M1&mchOrderNo=mo1&payOrderId=P202401010001&state=2&subject=VIP月卡&successTime=1700000100000&wayCode=WX_NATIVE
        let answer = ok_with_sign(&paid_order(), "SECRET");
        assert_eq!(answer["sign"], "E097359E603F15F261069946E30E52FC");
        assert_eq!(answer["data"]["amount"], 2990);
        assert_eq!(answer["data"]["state"], 2);
        assert_eq!(answer["data"]["currency"], "cny");
        assert!(answer["data"].get("clientIp").is_none());
    }

    #[test]
    fn a_cashier_order_without_a_channel_yet_has_no_if_code_in_data_or_signature() {
        let waiting = PayOrderView {
            if_code: None,
            way_code: WayCode::QrCashier,
            state: PayState::Created,
            channel_order_no: None,
            success_time: None,
            ..paid_order()
        };
        let answer = ok_with_sign(&waiting, "SECRET");
        assert!(answer["data"].get("ifCode").is_none());
        // amount=2990&appId=app1&body=一个月&createdAt=1700000000000&currency=cny&mchNo=M1&mchOrderNo=mo1&payOrderId=P202401010001&state=0&subject=VIP月卡&wayCode=QR_CASHIER
        assert_eq!(answer["sign"], "7FD78E75F8DE9BDA73234E676779DF32");
    }

    #[test]
    fn a_create_answer_gives_what_to_do_next_and_signs_it() {
        let created = PayOrderCreated {
            pay_order_id: "P1".into(),
            mch_order_no: "mo1".into(),
            order_state: PayState::Paying,
            pay_data: Some(PayData {
                kind: PayDataType::CodeUrl,
                data: "weixin://wxpay/bizpayurl?pr=abc".into(),
            }),
            err_code: None,
            err_msg: None,
        };
        // mchOrderNo=mo1&orderState=1&payData=weixin://wxpay/bizpayurl?pr=abc&payDataType=codeUrl&payOrderId=P1
        assert_eq!(
            ok_with_sign(&created, "SECRET"),
            json!({
                "code": 0,
                "msg": "SUCCESS",
                "data": {
                    "payOrderId": "P1",
                    "mchOrderNo": "mo1",
                    "orderState": 1,
                    "payDataType": "codeUrl",
                    "payData": "weixin://wxpay/bizpayurl?pr=abc",
                },
                "sign": "DB17A3B4B83280C68E8BEB6FD280F8D2",
            })
        );
    }

    #[test]
    fn a_close_answer_has_empty_data_signed_over_the_key_alone() {
        // key=SECRET
        let answer = ok_with_sign(&PayOrderClosed, "SECRET");
        assert_eq!(answer["data"], json!({}));
        assert_eq!(answer["sign"], "F73FB1CD053E7050FFD2E07033F4F691");
    }

    #[test]
    fn a_refund_answer_signs_its_amounts_in_fen() {
        let created = RefundCreated {
            refund_order_id: "R1".into(),
            mch_refund_no: "r1".into(),
            pay_amount: Fen(2990),
            refund_amount: Fen(50),
            state: RefundState::Refunding,
            channel_order_no: None,
            err_code: None,
            err_msg: None,
        };
        // mchRefundNo=r1&payAmount=2990&refundAmount=50&refundOrderId=R1&state=1
        let answer = ok_with_sign(&created, "SECRET");
        assert_eq!(answer["sign"], "C63918E649DC8A72367CEAA108DB4B54");
        assert_eq!(answer["data"]["refundAmount"], 50);
    }
}
