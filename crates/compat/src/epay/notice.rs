//! The notification of a paid order: a GET to the merchant's `notify_url` with the signed fields in
//! its query, acknowledged by a body that says `success`. The payer's browser is sent to the
//! `return_url` with the same query. Empty fields are never sent: some clients (v2board) would sign
//! them and then disagree.

use std::collections::BTreeMap;

use url::Url;

use super::money::money_for_notice;
use super::sign::sign;
use crate::{Ack, Notice, NoticeMethod};

/// What the notification says about a paid order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidOrder {
    pub pid: i64,
    /// paygate's number for the order.
    pub trade_no: String,
    pub out_trade_no: String,
    /// The EPay name of the method it was paid with (`alipay`, `wxpay`).
    pub type_name: String,
    pub name: String,
    pub money_fen: i64,
    pub param: Option<String>,
}

/// The signed fields, in the order the EPay server sends them.
fn signed_query(order: &PaidOrder, key: &str) -> String {
    let mut fields: Vec<(&str, String)> = vec![
        ("pid", order.pid.to_string()),
        ("trade_no", order.trade_no.clone()),
        ("out_trade_no", order.out_trade_no.clone()),
        ("type", order.type_name.clone()),
        ("name", order.name.clone()),
        ("money", money_for_notice(order.money_fen)),
        ("trade_status", "TRADE_SUCCESS".to_owned()),
    ];
    if let Some(param) = order.param.as_ref().filter(|p| !p.trim().is_empty()) {
        fields.push(("param", param.clone()));
    }
    fields.retain(|(_, v)| !v.trim().is_empty());
    let signed: BTreeMap<String, String> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let signature = sign(&signed, key);
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &fields {
        query.append_pair(k, v);
    }
    query.append_pair("sign", &signature);
    query.append_pair("sign_type", "MD5");
    query.finish()
}

/// `base` with `query` appended after `?`, or after `&` when it has a query already, as the EPay
/// server appends it: to the whole string, so that a single-page app's route in the fragment
/// (`https://panel.example/#/order/1`) gets it there. A request's fragment is never sent, so a
/// notification's URL is first cut before its fragment.
fn with_query(base: &str, query: &str) -> Result<Url, url::ParseError> {
    let separator = if base.contains('?') { '&' } else { '?' };
    Url::parse(&format!("{base}{separator}{query}"))
}

/// The notification of `order` to `notify_url`, signed with the merchant's `key`.
///
/// # Errors
/// `notify_url` is not a URL.
pub fn notice(order: &PaidOrder, key: &str, notify_url: &str) -> Result<Notice, url::ParseError> {
    Ok(Notice {
        method: NoticeMethod::Get,
        url: with_query(
            notify_url.split('#').next().unwrap_or(notify_url),
            &signed_query(order, key),
        )?,
        body: Vec::new(),
        ack: Ack::BodyContains("success"),
    })
}

/// Where the payer's browser goes once `order` is paid: `return_url` with the notification's query.
///
/// # Errors
/// `return_url` is not a URL.
pub fn return_url(order: &PaidOrder, key: &str, return_url: &str) -> Result<Url, url::ParseError> {
    with_query(return_url, &signed_query(order, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(param: Option<&str>) -> PaidOrder {
        PaidOrder {
            pid: 1001,
            trade_no: "2026120112000012345".into(),
            out_trade_no: "o1".into(),
            type_name: "wxpay".into(),
            name: "VIP 会员".into(),
            money_fen: 1050,
            param: param.map(str::to_owned),
        }
    }

    #[test]
    fn the_notice_is_a_get_whose_query_is_signed_as_the_clients_verify_it() {
        let n = notice(
            &order(Some("x=1")),
            "k",
            "https://shop.example/notify?from=epay",
        )
        .unwrap();
        assert_eq!(n.method, NoticeMethod::Get);
        assert!(n.body.is_empty());
        assert_eq!(n.url.path(), "/notify");
        let got: Vec<(String, String)> = n.url.query_pairs().into_owned().collect();
        let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "from",
                "pid",
                "trade_no",
                "out_trade_no",
                "type",
                "name",
                "money",
                "trade_status",
                "param",
                "sign",
                "sign_type"
            ]
        );
        let money = &got.iter().find(|(k, _)| k == "money").unwrap().1;
        assert_eq!(money, "10.5");
        // python3: md5("money=10.5&name=VIP 会员&out_trade_no=o1&param=x=1&pid=1001&trade_no=2026120112000012345&trade_status=TRADE_SUCCESS&type=wxpay" + "k")
        let sign = &got.iter().find(|(k, _)| k == "sign").unwrap().1;
        assert_eq!(sign, "295088f31df5806df7faa47652d4f68a");
        assert!(n.ack.accepts(200, "success"));
        assert!(!n.ack.accepts(200, "fail"));
    }

    #[test]
    fn a_single_page_apps_return_route_gets_the_query_in_its_fragment() {
        let back = return_url(&order(None), "k", "https://panel.example/#/order/1").unwrap();
        assert_eq!(back.query(), None);
        assert!(
            back.fragment().unwrap().starts_with("/order/1?pid=1001&"),
            "{back}"
        );
        let n = notice(&order(None), "k", "https://shop.example/notify#x").unwrap();
        assert_eq!(n.url.fragment(), None);
        assert!(n.url.query().unwrap().starts_with("pid=1001&"));
    }

    #[test]
    fn an_empty_param_is_not_sent_and_the_return_url_carries_the_same_query() {
        let n = notice(&order(Some("")), "k", "https://shop.example/notify").unwrap();
        assert!(!n.url.query().unwrap().contains("param"));
        let back = return_url(&order(Some("")), "k", "https://shop.example/back").unwrap();
        assert_eq!(back.query(), n.url.query());
    }
}
