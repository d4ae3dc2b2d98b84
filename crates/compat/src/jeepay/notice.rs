//! A pay order's notification to the merchant (`PayMchNotifyService.createNotifyUrl`): the order as
//! `/api/pay/query` shows it plus `reqTime`, signed, sent as a POST form to the `notifyUrl`, and
//! received once the merchant answers `SUCCESS` in any case.

use url::Url;
use url::form_urlencoded::Serializer;

use super::answer::AnswerData;
use super::{PayOrderView, sign};
use crate::{Ack, Notice, NoticeMethod};

/// Everything a pay order's notification says, and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayNotice {
    pub order: PayOrderView,
    /// When the notification is made, in milliseconds since the epoch.
    pub req_time: i64,
    /// The order's `notifyUrl`, with any query the merchant put on it.
    pub notify_url: Url,
}

impl PayNotice {
    /// The notification, signed with the app's secret.
    ///
    /// The signature covers Jeepay's fields only, as Jeepay signs before it adds the merchant's own
    /// query. That query moves into the body ahead of them, except a parameter named like one of
    /// them, which would give the merchant two values for one signed name.
    #[must_use]
    pub fn render(&self, app_secret: &str) -> Notice {
        let fields = self
            .order
            .fields()
            .number("reqTime", self.req_time)
            .signed();
        let signature = sign::sign(&fields, app_secret);
        let is_ours = |name: &str| name == "sign" || fields.iter().any(|(own, _)| *own == name);

        let mut body = Serializer::new(String::new());
        for (name, value) in self.notify_url.query_pairs() {
            if !is_ours(&name) {
                body.append_pair(&name, &value);
            }
        }
        for (name, value) in &fields {
            body.append_pair(name, value);
        }
        body.append_pair("sign", &signature);

        let mut url = self.notify_url.clone();
        url.set_query(None);
        Notice {
            method: NoticeMethod::PostForm,
            url,
            body: body.finish().into_bytes(),
            ack: Ack::BodyIs("SUCCESS"),
        }
    }
}

#[cfg(test)]
mod tests {
    use url::form_urlencoded;

    use super::*;
    use crate::jeepay::data::tests::paid_order;

    fn notice(notify_url: &str) -> Notice {
        PayNotice {
            order: paid_order(),
            req_time: 1_700_000_200_000,
            notify_url: Url::parse(notify_url).unwrap(),
        }
        .render("SECRET")
    }

    fn pairs(body: &[u8]) -> Vec<(String, String)> {
        form_urlencoded::parse(body).into_owned().collect()
    }

    #[test]
    fn a_paid_orders_notice_is_a_signed_form_acknowledged_by_success() {
        let sent = notice("https://shop.example/jeepay/notify");
        assert_eq!(sent.method, NoticeMethod::PostForm);
        assert_eq!(sent.url.as_str(), "https://shop.example/jeepay/notify");
        assert_eq!(sent.ack, Ack::BodyIs("SUCCESS"));
        let body = pairs(&sent.body);
        assert_eq!(
            body.last(),
            Some(&(
                "sign".to_owned(),
                "A2DEB8E48D91C6A02E653E8C43E74792".to_owned()
            ))
        );
        // The merchant's check, written out: every field but sign, sorted without case, then the
        // key; python3 -c "import hashlib; print(hashlib.md5('amount=2990&appId=app1&body=一个月&channelOrderNo=4200000001&createdAt=1700000000000&currency=cny&ifCode=wxpay&mchNo=M1&mchOrderNo=mo1&payOrderId=P202401010001&reqTime=1700000200000&state=2&subject=VIP月卡&successTime=1700000100000&wayCode=WX_NATIVE&key=SECRET'.encode()).hexdigest().upper())"
        let mut entries: Vec<String> = body
            .iter()
            .filter(|(name, _)| name != "sign")
            .map(|(name, value)| format!("{name}={value}&"))
            .collect();
        entries.sort_by_key(|entry| entry.to_ascii_lowercase());
        assert_eq!(
            entries.concat(),
            "amount=2990&appId=app1&body=一个月&channelOrderNo=4200000001&createdAt=1700000000000&\
             currency=cny&ifCode=wxpay&mchNo=M1&mchOrderNo=mo1&payOrderId=P202401010001&\
             reqTime=1700000200000&state=2&subject=VIP月卡&successTime=1700000100000&\
             wayCode=WX_NATIVE&"
        );
        assert!(
            body.iter()
                .all(|(name, _)| name != "clientIp" && name != "errCode")
        );
    }

    #[test]
    fn the_merchants_own_query_moves_into_the_body_unsigned_and_never_shadows_a_signed_field() {
        let sent = notice("https://shop.example/jeepay/notify?site=7&state=forged&sign=x");
        assert_eq!(sent.url.as_str(), "https://shop.example/jeepay/notify");
        let body = pairs(&sent.body);
        assert_eq!(body.first(), Some(&("site".to_owned(), "7".to_owned())));
        let values = |wanted: &str| -> Vec<&str> {
            body.iter()
                .filter(|(name, _)| name == wanted)
                .map(|(_, value)| value.as_str())
                .collect()
        };
        assert_eq!(values("state"), ["2"]);
        // The same signature as without the merchant's query: it is not signed.
        assert_eq!(values("sign"), ["A2DEB8E48D91C6A02E653E8C43E74792"]);
    }
}
