//! The request bodies the order routes read, as typed values. The handlers parse a body into one of
//! these (field by field, with [`Fields`], so that each field's refusal has its own code), and the
//! same types are the request schemas of `/openapi.json`: what is documented is what is parsed.

use std::net::IpAddr;

use utoipa::ToSchema;

use super::error::ApiError;
use super::input::Fields;
use crate::domain::{
    Amount, Attach, BuyerId, Channel, Currency, Description, DomainError, ExpireMinutes, Method,
    NotifyUrl, Openid, OrderMethod, OrderRequest, OutRefundNo, OutTradeNo, PayMethod, Payer,
    RefundReason, RefundRequest, ReturnUrl, parse_client_ip,
};

/// The body of `POST /pay/wechat/native` (seed 000).
#[derive(Debug, ToSchema)]
pub struct NativeCreateRequest {
    /// The site's order number: 6-64 characters of letters, digits, `_` and `-`.
    #[schema(value_type = String, example = "order_20240101_001")]
    pub out_trade_no: OutTradeNo,
    /// At most 127 characters.
    #[schema(value_type = String, example = "VIP月卡")]
    pub description: Description,
    /// Fen (2990 = ¥29.90): a positive integer.
    #[schema(value_type = i64, example = 2990)]
    pub amount_total: Amount,
    /// CNY only; the default.
    #[schema(value_type = Option<String>, example = "CNY")]
    pub currency: Currency,
    /// 1-1440; 15 by default.
    #[schema(value_type = Option<i64>, example = 15)]
    pub expire_minutes: ExpireMinutes,
}

impl NativeCreateRequest {
    /// Seed 000's checks in seed 000's order: the three required fields, then each field's format.
    ///
    /// # Errors
    /// The first field refused, or `MissingFields` naming every absent one.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let f = Fields::parse(body)?;
        f.require(&["out_trade_no", "description", "amount_total"])?;
        // Fields are evaluated in the order written here, which is seed 000's.
        Ok(Self {
            out_trade_no: f.out_trade_no()?,
            amount_total: f.amount()?,
            currency: f.currency()?,
            description: f.description()?,
            expire_minutes: f.expire_minutes()?,
        })
    }
}

impl TryFrom<NativeCreateRequest> for OrderRequest {
    type Error = ApiError;

    fn try_from(r: NativeCreateRequest) -> Result<Self, ApiError> {
        Ok(Self {
            out_trade_no: r.out_trade_no,
            pay_method: PayMethod::new(Channel::Wechat, Method::Native)?.into(),
            amount: r.amount_total,
            currency: r.currency,
            description: r.description,
            attach: None,
            notify_url: None,
            return_url: None,
            payer: Payer::default(),
            expire_minutes: r.expire_minutes,
            profit_sharing: false,
        })
    }
}

/// The body of `POST /v1/orders`.
#[derive(Debug, ToSchema)]
pub struct V1CreateRequest {
    #[schema(value_type = String, example = "order_20240101_001")]
    pub out_trade_no: OutTradeNo,
    /// `wechat` or `alipay`; absent (or `any`) with `method: "any"`.
    #[schema(value_type = Option<String>, example = "wechat")]
    pub channel: Option<Channel>,
    /// WeChat: `native`, `jsapi`, `miniapp`, `h5`, `app`. Alipay: `qr`, `jsapi`, `miniapp`, `wap`,
    /// `page`, `app`. Or `any`: a channel-neutral order whose `checkout_url` is one link for every
    /// payer — WeChat Pay inside WeChat, Alipay inside Alipay, a choice of both in a phone browser,
    /// a QR code per method on a desktop. The upstream order is made when the payer's app is
    /// known, and only one payment can succeed. The order shows `channel`/`method` `any` until
    /// it is paid, then the method it was paid by.
    #[schema(value_type = String, example = "native")]
    pub method: Option<Method>,
    /// Fen, a positive integer.
    #[schema(value_type = i64, example = 2990)]
    pub amount_total: Amount,
    /// CNY only; the default.
    #[schema(value_type = Option<String>)]
    pub currency: Currency,
    /// At most 127 characters.
    #[schema(value_type = String, example = "VIP月卡")]
    pub description: Description,
    /// 1-128 characters without control or format characters, returned in the notification.
    #[schema(value_type = Option<String>)]
    pub attach: Option<Attach>,
    /// 1-1440; 15 by default.
    #[schema(value_type = Option<i64>)]
    pub expire_minutes: ExpireMinutes,
    /// Overrides the site's notification URL for this order.
    #[schema(value_type = Option<String>)]
    pub notify_url: Option<NotifyUrl>,
    /// Where the payer's browser goes once the order is paid: the checkout page sends it there,
    /// and Alipay's `wap` and `page` payments return there from Alipay's cashier. An http(s) URL of
    /// at most 256 characters.
    #[schema(value_type = Option<String>, example = "https://shop.example.com/orders/20240101_001")]
    pub return_url: Option<ReturnUrl>,
    #[schema(value_type = Option<V1Payer>)]
    pub payer: V1Payer,
    /// `true` to make the order for profit sharing (分账): its money stays frozen at the channel
    /// (WeChat Pay `settle_info.profit_sharing`, Alipay `royalty_freeze`) until split with
    /// `POST /v1/orders/{out_trade_no}/splits`. Only such an order can be split. `false` by default.
    #[schema(value_type = Option<bool>, example = false)]
    pub profit_sharing: bool,
}

/// Who pays, as far as the method needs: WeChat `jsapi`/`miniapp` need `openid`, Alipay
/// `jsapi`/`miniapp` need `buyer_id` (or `buyer_open_id`), WeChat `h5` needs `client_ip`.
#[derive(Debug, Default, ToSchema)]
pub struct V1Payer {
    #[schema(value_type = Option<String>)]
    pub openid: Option<Openid>,
    #[schema(value_type = Option<String>)]
    pub buyer_id: Option<BuyerId>,
    #[schema(value_type = Option<String>)]
    pub buyer_open_id: Option<BuyerId>,
    #[schema(value_type = Option<String>)]
    pub client_ip: Option<IpAddr>,
}

impl V1CreateRequest {
    /// Each field in turn; how they fit together (a method the channel offers, the payer fields
    /// it needs) is checked when it becomes an [`OrderRequest`].
    ///
    /// # Errors
    /// The first field refused, or `MissingFields` naming every absent one.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let f = Fields::parse(body)?;
        let channel = f.str("channel", DomainError::InvalidChannel)?;
        let method = f.str("method", DomainError::InvalidMethod(String::new()))?;
        let any = method == Some(ANY);
        let mut required = vec!["out_trade_no", "method", "description", "amount_total"];
        // `channel` is required with every method but `any` (an absent method is missing itself).
        if method.is_some() && !any {
            required.insert(1, "channel");
        }
        f.require(&required)?;
        let (channel, method) = if any {
            match channel {
                None | Some(ANY) => (None, None),
                // A channel with `any` would be a promise paygate does not keep.
                Some(_) => return Err(DomainError::InvalidChannel.into()),
            }
        } else {
            (
                Some(Channel::parse(channel.unwrap_or_default())?),
                Some(Method::parse(method.unwrap_or_default())?),
            )
        };
        Ok(Self {
            channel,
            method,
            payer: V1Payer::parse(&f)?,
            out_trade_no: f.out_trade_no()?,
            amount_total: f.amount()?,
            currency: f.currency()?,
            description: f.description()?,
            attach: f.attach()?,
            notify_url: f.notify_url()?,
            return_url: f.return_url()?,
            expire_minutes: f.expire_minutes()?,
            profit_sharing: f.flag("profit_sharing")?,
        })
    }
}

impl V1Payer {
    /// Absent or `null` is no payer fields at all.
    pub(super) fn parse(f: &Fields) -> Result<Self, DomainError> {
        let p = f.object("payer")?;
        let text = |name: &'static str| p.str(name, DomainError::Malformed { field: name });
        let buyer_id = text("buyer_id")?.map(BuyerId::parse).transpose()?;
        Ok(Self {
            openid: text("openid")?.map(Openid::parse).transpose()?,
            // Alipay's newer open_id takes the same place as the classic 2088 user id; with both
            // given, the user id counts and the open_id is not read.
            buyer_open_id: match buyer_id {
                Some(_) => None,
                None => text("buyer_open_id")?.map(BuyerId::parse).transpose()?,
            },
            buyer_id,
            client_ip: text("client_ip")?.map(parse_client_ip).transpose()?,
        })
    }
}

/// `method` (and `channel`) of a channel-neutral order.
const ANY: &str = "any";

impl TryFrom<V1CreateRequest> for OrderRequest {
    type Error = ApiError;

    fn try_from(r: V1CreateRequest) -> Result<Self, ApiError> {
        let pay_method = match (r.channel, r.method) {
            (Some(channel), Some(method)) => OrderMethod::Fixed(PayMethod::new(channel, method)?),
            _ => OrderMethod::Any,
        };
        let payer = Payer {
            openid: r.payer.openid,
            buyer_id: r.payer.buyer_id.or(r.payer.buyer_open_id),
            client_ip: r.payer.client_ip,
        };
        let needed = match (r.channel, r.method) {
            (Some(Channel::Wechat), Some(Method::Jsapi | Method::Miniapp))
                if payer.openid.is_none() =>
            {
                Some("payer.openid")
            }
            (Some(Channel::Alipay), Some(Method::Jsapi | Method::Miniapp))
                if payer.buyer_id.is_none() =>
            {
                Some("payer.buyer_id")
            }
            (Some(Channel::Wechat), Some(Method::H5)) if payer.client_ip.is_none() => {
                Some("payer.client_ip")
            }
            _ => None,
        };
        if let Some(field) = needed {
            return Err(ApiError::MissingFields(vec![field]));
        }
        Ok(Self {
            out_trade_no: r.out_trade_no,
            pay_method,
            amount: r.amount_total,
            currency: r.currency,
            description: r.description,
            attach: r.attach,
            notify_url: r.notify_url,
            return_url: r.return_url,
            payer,
            expire_minutes: r.expire_minutes,
            profit_sharing: r.profit_sharing,
        })
    }
}

/// The body of `POST /v1/orders/{out_trade_no}/refunds`.
#[derive(Debug, ToSchema)]
pub struct V1RefundRequest {
    /// The site's refund number: 1-64 characters of letters, digits, `_` and `-`, unique per site.
    /// Sending the same number with the same content again is the same refund.
    #[schema(value_type = String, example = "refund_20240101_001")]
    pub out_refund_no: OutRefundNo,
    /// Fen to give back (1000 = ¥10.00): a positive integer, at most what is left to refund.
    #[schema(value_type = i64, example = 1000)]
    pub amount: Amount,
    /// Shown to the payer by WeChat Pay: 1-80 characters without control or format characters.
    #[schema(value_type = Option<String>, example = "商品已售完")]
    pub reason: Option<RefundReason>,
    /// Where this refund's notifications go, instead of the order's (or the site's) URL.
    #[schema(value_type = Option<String>)]
    pub notify_url: Option<NotifyUrl>,
}

impl V1RefundRequest {
    /// # Errors
    /// The first field refused, or `MissingFields` naming every absent one.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let f = Fields::parse(body)?;
        f.require(&["out_refund_no", "amount"])?;
        Ok(Self {
            out_refund_no: f.out_refund_no()?,
            amount: f.refund_amount()?,
            reason: f.reason()?,
            notify_url: f.notify_url()?,
        })
    }
}

impl From<V1RefundRequest> for RefundRequest {
    fn from(r: V1RefundRequest) -> Self {
        Self {
            out_refund_no: r.out_refund_no,
            amount: r.amount,
            reason: r.reason,
            notify_url: r.notify_url,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};
    use utoipa::PartialSchema;

    use super::*;

    /// A body type's documented schema, as JSON.
    fn schema<T: PartialSchema>() -> Value {
        serde_json::to_value(T::schema()).expect("serializes")
    }

    fn names(list: &Value) -> Vec<String> {
        let mut names: Vec<String> = match list {
            Value::Array(items) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Value::Object(map) => map.keys().cloned().collect(),
            _ => Vec::new(),
        };
        names.sort();
        names
    }

    /// A body made of the documented examples of every property that has one.
    fn from_examples(schema: &Value) -> Map<String, Value> {
        let properties = schema["properties"].as_object().expect("properties");
        properties
            .iter()
            .filter_map(|(name, p)| Some((name.clone(), p.get("example")?.clone())))
            .collect()
    }

    fn field_refused(result: Result<impl std::fmt::Debug, ApiError>) -> Option<&'static str> {
        match result {
            Err(ApiError::Invalid(e)) => Some(e.field()),
            _ => None,
        }
    }

    type Parse = fn(&[u8]) -> Result<(), ApiError>;

    fn bodies() -> [(Value, Parse); 3] {
        [
            (schema::<NativeCreateRequest>(), |b| {
                NativeCreateRequest::parse(b).map(drop)
            }),
            (schema::<V1CreateRequest>(), |b| {
                V1CreateRequest::parse(b).map(drop)
            }),
            (schema::<V1RefundRequest>(), |b| {
                V1RefundRequest::parse(b).map(drop)
            }),
        ]
    }

    #[test]
    fn the_documented_required_fields_are_the_ones_the_parser_requires() {
        for (schema, parse) in bodies() {
            let Err(ApiError::MissingFields(mut missing)) = parse(b"{}") else {
                panic!("an empty body should miss fields");
            };
            missing.sort_unstable();
            assert_eq!(missing, names(&schema["required"]), "{schema}");
        }
    }

    #[test]
    fn the_documented_examples_make_a_body_the_parser_accepts() {
        for (schema, parse) in bodies() {
            let body = Value::Object(from_examples(&schema)).to_string();
            assert!(parse(body.as_bytes()).is_ok(), "{body}");
        }
    }

    /// A property the parser did not read could hold anything: a value of no documented type (an
    /// array) in each one in turn must be refused, naming that property.
    #[test]
    fn every_documented_property_is_read_by_the_parser() {
        for (schema, parse) in bodies() {
            let valid = from_examples(&schema);
            for name in names(&schema["properties"]) {
                let mut body = valid.clone();
                body.insert(name.clone(), json!([]));
                let body = Value::Object(body).to_string();
                assert_eq!(
                    field_refused(parse(body.as_bytes())),
                    Some(name.as_str()),
                    "{body}"
                );
            }
        }
        let v1 = from_examples(&schema::<V1CreateRequest>());
        for name in names(&schema::<V1Payer>()["properties"]) {
            let mut body = v1.clone();
            body.insert("payer".to_owned(), json!({ name.clone(): [] }));
            let body = Value::Object(body).to_string();
            let refused = field_refused(V1CreateRequest::parse(body.as_bytes()));
            assert_eq!(refused, Some(name.as_str()), "{body}");
        }
    }
}
