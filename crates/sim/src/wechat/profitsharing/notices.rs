//! Profit-sharing notifications (分账动账通知): WeChat Pay tells a receiver that money moved to it
//! (`PROFITSHARING.SUCCESS`, when a split pays it) or back from it (`PROFITSHARING.RETURN`). They go
//! to the receiver, not to the merchant that split, and only to a receiver that asked for them:
//! in the simulator, a registered merchant with a `profit_sharing_notify_url` (WeChat's merchant
//! platform setting). The resource names the splitter as `mchid`, or as `sp_mchid` and
//! `sub_mchid` for a service provider's split, as WeChat's notification documents it.

use serde_json::{Value, json};

use super::model::{Return, Split, SplitPart};
use crate::wechat::Sim;
use crate::wechat::notify::{self, Event};
use crate::wechat::state::WechatState;

/// A notification to send once the change it reports is persisted.
#[derive(Debug, Clone)]
pub struct Notice {
    receiver_mchid: String,
    url: String,
    event_type: &'static str,
    summary: &'static str,
    resource: Value,
    reference: String,
}

/// The receiver's URL, if the receiver is a merchant that asked for these notifications.
fn url_of(s: &WechatState, receiver_type: &str, account: &str) -> Option<String> {
    if receiver_type != "MERCHANT_ID" {
        return None;
    }
    s.merchants
        .get(account)
        .and_then(|m| m.profit_sharing_notify_url.clone())
}

/// Who split: `{mchid}`, or `{sp_mchid, sub_mchid}` for a service provider's split.
fn splitter(split: &Split) -> Value {
    match &split.sub_mchid {
        Some(sub) => json!({ "sp_mchid": split.mchid, "sub_mchid": sub }),
        None => json!({ "mchid": split.mchid }),
    }
}

/// `PROFITSHARING.SUCCESS` for each part of a finished split that paid a receiver that listens.
pub fn for_paid_parts(s: &WechatState, split: &Split, parts: &[SplitPart]) -> Vec<Notice> {
    parts
        .iter()
        .filter_map(|p| {
            let url = url_of(s, &p.receiver_type, &p.account)?;
            let mut resource = splitter(split);
            resource["transaction_id"] = json!(split.transaction_id);
            resource["order_id"] = json!(split.order_id);
            resource["out_order_no"] = json!(split.out_order_no);
            resource["receiver"] = json!({
                "type": p.receiver_type, "account": p.account, "amount": p.amount,
                "description": p.description,
            });
            resource["success_time"] = json!(p.finish_time);
            Some(Notice {
                receiver_mchid: p.account.clone(),
                url,
                event_type: "PROFITSHARING.SUCCESS",
                summary: "分账成功",
                resource,
                reference: split.out_order_no.clone(),
            })
        })
        .collect()
}

/// `PROFITSHARING.RETURN` for a return, if its merchant receiver listens.
pub fn for_return(s: &WechatState, split: &Split, r: &Return) -> Option<Notice> {
    let url = url_of(s, "MERCHANT_ID", &r.return_mchid)?;
    let mut resource = splitter(split);
    resource["transaction_id"] = json!(split.transaction_id);
    resource["order_id"] = json!(r.return_id);
    resource["out_order_no"] = json!(r.out_return_no);
    resource["receiver"] = json!({
        "type": "MERCHANT_ID", "account": r.return_mchid, "amount": r.amount,
        "description": r.description,
    });
    resource["success_time"] = json!(r.create_time);
    Some(Notice {
        receiver_mchid: r.return_mchid.clone(),
        url,
        event_type: "PROFITSHARING.RETURN",
        summary: "分账回退",
        resource,
        reference: r.out_return_no.clone(),
    })
}

/// Sends notices (after the state they report is saved).
pub fn send(sim: &Sim, notices: &[Notice]) {
    for n in notices {
        notify::send(
            sim,
            &Event {
                mchid: &n.receiver_mchid,
                url: &n.url,
                event_type: n.event_type,
                summary: n.summary,
                original_type: "profitsharing",
                resource: &n.resource,
                reference: &n.reference,
            },
        );
    }
}
