//! What a verified weidoufu pay request comes to in paygate's terms: the order `/v1` would make
//! of it, the method that pays it, and what the order remembers for its notification.

use compat::weidoufu::{MiniappRequest, MobileRequest, NativeRequest, PayType, RequestError};
use serde_json::{Map, Value};

use super::{Endpoint, Failure};
use crate::domain::{
    Amount, Attach, BuyerId, Channel, Currency, Description, ExpireMinutes, Method, NotifyUrl,
    Openid, OrderMethod, OrderRequest, Origin, OutTradeNo, PayMethod, Payer, Protocol, ReturnUrl,
};

/// weidoufu's documented expiry for the endpoints that take `expire`; the mini-program page names
/// none, so its orders get the same.
const DEFAULT_EXPIRE_MINUTES: u8 = 30;

/// A pay request of one of the three endpoints, parsed.
#[derive(Debug)]
pub(super) enum PayRequest {
    Miniapp(MiniappRequest),
    Native(NativeRequest),
    Mobile(MobileRequest),
}

impl PayRequest {
    /// # Errors
    /// The first field found wrong.
    pub(super) fn parse(
        endpoint: Endpoint,
        fields: &Map<String, Value>,
    ) -> Result<Self, RequestError> {
        Ok(match endpoint {
            Endpoint::Miniapp => Self::Miniapp(MiniappRequest::parse(fields)?),
            Endpoint::Native => Self::Native(NativeRequest::parse(fields)?),
            // Only pay endpoints come here; a query is no order.
            Endpoint::Mobile | Endpoint::Query => Self::Mobile(MobileRequest::parse(fields)?),
        })
    }

    fn order(&self) -> &compat::weidoufu::Order {
        match self {
            Self::Miniapp(r) => &r.order,
            Self::Native(r) => &r.order,
            Self::Mobile(r) => &r.order,
        }
    }

    /// The receivers the order is to be split to once paid, as the site sent them.
    pub(super) fn ledger(&self) -> &[compat::weidoufu::LedgerEntry] {
        &self.order().ledger
    }

    pub(super) fn pay_type(&self) -> PayType {
        self.order().pay_type
    }

    /// The order's amount in fen, as sent.
    pub(super) fn total_fee(&self) -> i64 {
        self.order().total_fee.0
    }

    fn endpoint(&self) -> Endpoint {
        match self {
            Self::Miniapp(_) => Endpoint::Miniapp,
            Self::Native(_) => Endpoint::Native,
            Self::Mobile(_) => Endpoint::Mobile,
        }
    }

    /// The method that pays it. A phone browser's WeChat payment is H5, which WeChat grants only
    /// with the payer's address; without one the payer goes to the checkout page, which sees it.
    pub(super) fn method(&self) -> OrderMethod {
        let (channel, method) = match (self, self.order().pay_type) {
            (Self::Miniapp(_), PayType::WeChat) => (Channel::Wechat, Method::Miniapp),
            (Self::Miniapp(_), PayType::Alipay) => (Channel::Alipay, Method::Miniapp),
            (Self::Native(_), PayType::WeChat) => (Channel::Wechat, Method::Native),
            (Self::Native(_), PayType::Alipay) => (Channel::Alipay, Method::Qr),
            (Self::Mobile(r), PayType::WeChat) if r.client_ip.is_some() => {
                (Channel::Wechat, Method::H5)
            }
            (Self::Mobile(_), PayType::WeChat) => return OrderMethod::Any,
            (Self::Mobile(_), PayType::Alipay) => (Channel::Alipay, Method::Wap),
        };
        // Every pair above is one the channel offers.
        PayMethod::new(channel, method).map_or(OrderMethod::Any, OrderMethod::Fixed)
    }

    /// What the order remembers: the endpoint (its notification's `trade_type`, and a retry
    /// through another endpoint is another order) and the ledger as sent (its fingerprint: a
    /// retry with another ledger is another order).
    pub(super) fn origin(&self) -> Origin {
        let ledger = &self.order().ledger;
        let ledger = (!ledger.is_empty()).then(|| {
            Value::Array(
                ledger
                    .iter()
                    .map(|e| serde_json::json!({"amount": e.amount.0, "sub_mch_no": e.sub_mch_no}))
                    .collect(),
            )
            .to_string()
        });
        Origin::new(Protocol::Weidoufu)
            .with("endpoint", Some(self.endpoint().as_str()))
            .with("ledger", ledger.as_deref())
    }

    /// The order `/v1` would make of the same request.
    ///
    /// # Errors
    /// A field paygate's order refuses though weidoufu's format allows it (control characters,
    /// an address with credentials, a payer id with other characters than WeChat's or Alipay's).
    pub(super) fn order_request(&self) -> Result<OrderRequest, Failure> {
        let order = self.order();
        let (payer, expire, return_url) = match self {
            Self::Miniapp(r) => (miniapp_payer(&r.payer)?, DEFAULT_EXPIRE_MINUTES, None),
            Self::Native(r) => (Payer::default(), r.expire_minutes, None),
            Self::Mobile(r) => {
                let payer = Payer {
                    client_ip: r.client_ip,
                    ..Payer::default()
                };
                (payer, r.expire_minutes, r.return_url.as_ref())
            }
        };
        let invalid = |error: RequestError| Failure::client(error.to_string());
        Ok(OrderRequest {
            out_trade_no: OutTradeNo::parse(order.out_order_no.as_str())
                .map_err(|_| invalid(RequestError::BadOrderNo))?,
            pay_method: self.method(),
            amount: Amount::parse(order.total_fee.0)
                .map_err(|_| invalid(RequestError::BadTotalFee))?,
            currency: Currency::default(),
            description: Description::parse(&order.body)
                .map_err(|_| Failure::client("商品名称 body 含有不可见字符"))?,
            attach: order
                .attach
                .as_deref()
                .map(Attach::parse)
                .transpose()
                .map_err(|_| Failure::client("附加信息 attach 含有不可见字符"))?,
            notify_url: Some(
                NotifyUrl::parse(order.notify_url.as_str())
                    .map_err(|_| invalid(RequestError::BadUrl("notify_url")))?,
            ),
            return_url: return_url
                .map(|url| ReturnUrl::parse(url.as_str()))
                .transpose()
                .map_err(|_| invalid(RequestError::BadUrl("return_url")))?,
            payer,
            expire_minutes: ExpireMinutes::parse(i64::from(expire))
                .map_err(|_| invalid(RequestError::BadExpire))?,
            profit_sharing: false,
        })
    }
}

fn miniapp_payer(payer: &compat::weidoufu::Payer) -> Result<Payer, Failure> {
    Ok(match payer {
        compat::weidoufu::Payer::WeChat { openid } => Payer {
            openid: Some(Openid::parse(openid).map_err(|_| Failure::client("openid 格式不正确"))?),
            ..Payer::default()
        },
        compat::weidoufu::Payer::Alipay { buyer_id } => Payer {
            buyer_id: Some(
                BuyerId::parse(buyer_id).map_err(|_| Failure::client("buyer_id 格式不正确"))?,
            ),
            ..Payer::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(endpoint: Endpoint, extra: Value) -> PayRequest {
        let mut fields = json!({
            "access_key": "AK", "body": "会员", "out_order_no": "202405010000000001",
            "pay_type": 1, "total_fee": 100, "notify_url": "https://shop.example/notify",
            "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "buyer_id": "2088102146225135",
        });
        for (k, v) in extra.as_object().into_iter().flatten() {
            fields[k] = v.clone();
        }
        let Value::Object(fields) = fields else {
            unreachable!()
        };
        PayRequest::parse(endpoint, &fields).unwrap()
    }

    fn fixed(channel: Channel, method: Method) -> OrderMethod {
        OrderMethod::Fixed(PayMethod::new(channel, method).unwrap())
    }

    #[test]
    fn each_endpoint_and_pay_type_is_paid_by_its_method() {
        let alipay = json!({"pay_type": 2});
        let cases = [
            (
                Endpoint::Miniapp,
                json!({}),
                fixed(Channel::Wechat, Method::Miniapp),
            ),
            (
                Endpoint::Miniapp,
                alipay.clone(),
                fixed(Channel::Alipay, Method::Miniapp),
            ),
            (
                Endpoint::Native,
                json!({}),
                fixed(Channel::Wechat, Method::Native),
            ),
            (
                Endpoint::Native,
                alipay.clone(),
                fixed(Channel::Alipay, Method::Qr),
            ),
            (
                Endpoint::Mobile,
                json!({"client_ip": "203.0.113.7"}),
                fixed(Channel::Wechat, Method::H5),
            ),
            (Endpoint::Mobile, json!({}), OrderMethod::Any),
            (
                Endpoint::Mobile,
                alipay,
                fixed(Channel::Alipay, Method::Wap),
            ),
        ];
        for (endpoint, extra, expected) in cases {
            assert_eq!(
                request(endpoint, extra.clone()).method(),
                expected,
                "{endpoint:?} {extra}"
            );
        }
    }

    #[test]
    fn a_mini_program_order_is_paid_by_the_payer_its_channel_knows() {
        let wechat = request(Endpoint::Miniapp, json!({}))
            .order_request()
            .unwrap();
        assert_eq!(
            wechat.payer.openid.unwrap().as_str(),
            "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
        );
        assert!(wechat.payer.buyer_id.is_none());
        let alipay = request(Endpoint::Miniapp, json!({"pay_type": "2"}))
            .order_request()
            .unwrap();
        assert_eq!(alipay.payer.buyer_id.unwrap().as_str(), "2088102146225135");
        assert!(alipay.payer.openid.is_none());
        assert_eq!(alipay.amount.as_i64(), 100);
        assert_eq!(alipay.expire_minutes.get(), 30);
    }

    #[test]
    fn the_ledger_and_endpoint_are_remembered_and_nothing_else() {
        let ledger = r#"[{"amount":30,"sub_mch_no":"M001"},{"amount":70,"sub_mch_no":"M002"}]"#;
        let origin = request(Endpoint::Native, json!({"ledger": ledger, "expire": 5})).origin();
        assert_eq!(origin.protocol, Protocol::Weidoufu);
        assert_eq!(origin.get("endpoint"), Some("native"));
        assert_eq!(origin.get("ledger"), Some(ledger));
        let plain = request(Endpoint::Miniapp, json!({})).origin();
        assert_eq!(plain.data.len(), 1, "{plain:?}");
    }

    #[test]
    fn fields_weidoufu_allows_but_orders_refuse_are_the_merchants_mistake() {
        for extra in [
            json!({"body": "会员\u{0007}"}),
            json!({"notify_url": "https://user:pw@shop.example/n"}),
            json!({"openid": "o pen id"}),
        ] {
            let refused = request(Endpoint::Miniapp, extra.clone())
                .order_request()
                .unwrap_err();
            assert_eq!(
                refused.status,
                axum::http::StatusCode::BAD_REQUEST,
                "{extra}"
            );
        }
    }
}
