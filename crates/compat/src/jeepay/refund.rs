//! The refund requests: `/api/refund/refundOrder` (`RefundOrderRQ`) and `/api/refund/query`
//! (`QueryRefundOrderRQ`).

use channel_core::Fen;
use url::Url;

use super::JeepayError;
use super::order::{PayOrderRef, read_pay_order_ref};
use super::request::{Reader, Unverified};
use crate::Params;

/// A refund of (part of) a pay order. The currency is always `cny`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOrder {
    pub order: PayOrderRef,
    pub mch_refund_no: String,
    pub refund_amount: Fen,
    pub refund_reason: String,
    pub client_ip: Option<String>,
    pub device: Option<String>,
    pub notify_url: Option<Url>,
    /// Kept as given: no way paygate serves reads anything from it for a refund.
    pub channel_extra: Option<String>,
    pub ext_param: Option<String>,
}

impl RefundOrder {
    /// Reads a `refundOrder` request.
    ///
    /// # Errors
    /// A missing, blank or malformed field; a refund amount below one fen; a currency other than
    /// `cny`; neither `mchOrderNo` nor `payOrderId`.
    pub fn parse(params: &Params) -> Result<Unverified<Self>, JeepayError> {
        let mut fields = Reader::new(params);
        let (head, sign) = fields.head()?;
        let order = read_pay_order_ref(&mut fields)?;
        let mch_refund_no = fields.required("mchRefundNo", "商户退款单号不能为空")?;
        let refund_amount =
            fields.amount("refundAmount", "退款金额不能为空", "退款金额请大于1分")?;
        fields.currency()?;
        let refund_reason = fields.required("refundReason", "退款原因不能为空")?;
        let client_ip = fields.text("clientIp");
        let device = fields.text("device");
        let notify_url = fields.url("notifyUrl", "异步通知地址协议仅支持http:// 或 https:// !")?;
        let channel_extra = fields.text("channelExtra");
        let ext_param = fields.text("extParam");
        let refund = Self {
            order,
            mch_refund_no,
            refund_amount,
            refund_reason,
            client_ip,
            device,
            notify_url,
            channel_extra,
            ext_param,
        };
        Ok(fields.finish(head, sign, refund))
    }
}

/// Which refund order a request means: `refundOrderId` when given, else `mchRefundNo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOrderRef {
    RefundOrderId(String),
    MchRefundNo(String),
}

/// `/api/refund/query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundQuery {
    pub refund: RefundOrderRef,
}

impl RefundQuery {
    /// Reads a refund query.
    ///
    /// # Errors
    /// A missing common field, or neither `mchRefundNo` nor `refundOrderId`.
    pub fn parse(params: &Params) -> Result<Unverified<Self>, JeepayError> {
        let mut fields = Reader::new(params);
        let (head, sign) = fields.head()?;
        let mch_refund_no = fields.text("mchRefundNo");
        let refund_order_id = fields.text("refundOrderId");
        let refund = match (refund_order_id, mch_refund_no) {
            (Some(id), _) => RefundOrderRef::RefundOrderId(id),
            (None, Some(no)) => RefundOrderRef::MchRefundNo(no),
            (None, None) => {
                return Err(JeepayError::Invalid(
                    "mchRefundNo 和 refundOrderId不能同时为空",
                ));
            }
        };
        Ok(fields.finish(head, sign, Self { refund }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jeepay::request::tests::{params, with, without};

    // python3 -c "import hashlib; print(hashlib.md5('appId=app1&currency=cny&mchNo=M1&mchRefundNo=r1&payOrderId=P1&refundAmount=50&refundReason=不想要了&reqTime=1700000000000&signType=MD5&version=1.0&key=SECRET'.encode()).hexdigest().upper())"
    fn refund_order() -> Params {
        params(&[
            ("mchNo", "M1"),
            ("appId", "app1"),
            ("payOrderId", "P1"),
            ("mchRefundNo", "r1"),
            ("refundAmount", "50"),
            ("currency", "cny"),
            ("refundReason", "不想要了"),
            ("version", "1.0"),
            ("signType", "MD5"),
            ("reqTime", "1700000000000"),
            ("sign", "3C1B98B0356A884223FB1DD861991B6F"),
        ])
    }

    #[test]
    fn a_signed_refund_is_read_and_verified() {
        let refund = RefundOrder::parse(&refund_order())
            .unwrap()
            .verify("SECRET")
            .unwrap()
            .request;
        assert_eq!(refund.order, PayOrderRef::PayOrderId("P1".into()));
        assert_eq!(refund.refund_amount, Fen(50));
        assert_eq!(refund.refund_reason, "不想要了");
        let other_key = RefundOrder::parse(&refund_order()).unwrap().verify("OTHER");
        assert_eq!(other_key, Err(JeepayError::Signature));
    }

    #[test]
    fn each_required_field_of_a_refund_is_refused_with_jeepays_text() {
        let cases = [
            ("mchRefundNo", "商户退款单号不能为空"),
            ("refundAmount", "退款金额不能为空"),
            ("currency", "货币代码不能为空"),
            ("refundReason", "退款原因不能为空"),
            ("payOrderId", "mchOrderNo 和 payOrderId不能同时为空"),
        ];
        for (field, text) in cases {
            let refused = RefundOrder::parse(&without(refund_order(), field));
            assert_eq!(refused, Err(JeepayError::Invalid(text)), "{field} missing");
        }
    }

    #[test]
    fn a_refund_below_one_fen_or_not_whole_fen_is_refused() {
        let zero = RefundOrder::parse(&with(refund_order(), "refundAmount", "0"));
        assert_eq!(zero, Err(JeepayError::Invalid("退款金额请大于1分")));
        let yuan = RefundOrder::parse(&with(refund_order(), "refundAmount", "0.50"));
        assert_eq!(yuan, Err(JeepayError::Malformed("refundAmount")));
    }

    // python3 -c "import hashlib; print(hashlib.md5(b'appId=app1&mchNo=M1&mchRefundNo=r1&reqTime=1700000000000&signType=MD5&version=1.0&key=SECRET').hexdigest().upper())"
    fn refund_query() -> Params {
        params(&[
            ("mchNo", "M1"),
            ("appId", "app1"),
            ("mchRefundNo", "r1"),
            ("version", "1.0"),
            ("signType", "MD5"),
            ("reqTime", "1700000000000"),
            ("sign", "7DA4FE6C8457C284354E4E9EC8DFFD0E"),
        ])
    }

    #[test]
    fn a_refund_query_names_its_refund_or_is_refused() {
        let query = RefundQuery::parse(&refund_query())
            .unwrap()
            .verify("SECRET")
            .unwrap();
        assert_eq!(
            query.request.refund,
            RefundOrderRef::MchRefundNo("r1".into())
        );
        let neither = RefundQuery::parse(&without(refund_query(), "mchRefundNo"));
        assert_eq!(
            neither,
            Err(JeepayError::Invalid(
                "mchRefundNo 和 refundOrderId不能同时为空"
            ))
        );
    }
}
