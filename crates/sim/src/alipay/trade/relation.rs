//! Royalty relations: the receivers an app binds before it may split a trade to them.

use serde_json::{Map, Value, json};

use super::super::state::{Relation, now_ms, relation_key};
use super::super::wire::{Obj, Refusal};
use super::{Call, Sim, required, update};

/// Alipay takes at most 20 receivers per bind or unbind.
const MAX_RECEIVERS: usize = 20;
const ACCOUNT_TYPES: [&str; 3] = ["userId", "loginName", "openId"];

/// A receiver as a bind or unbind names it.
struct Receiver {
    account_type: String,
    account: String,
    name: Option<String>,
    memo: Option<String>,
}

fn member(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn receivers(call: &Call, need_name: bool) -> Result<Vec<Receiver>, Refusal> {
    required(call, "out_request_no")?;
    let list = match call.biz.get("receiver_list") {
        Some(Value::Array(list)) if !list.is_empty() => list,
        _ => {
            return Err(Refusal::business(
                "ACQ.RECEIVER_LIST_EMPTY",
                "分账收款方列表为空",
            ));
        }
    };
    if list.len() > MAX_RECEIVERS {
        return Err(Refusal::invalid_parameter("receiver_list 最多 20 个"));
    }
    list.iter()
        .map(|r| {
            let r = r
                .as_object()
                .ok_or_else(|| Refusal::invalid_parameter("receiver_list 的元素不是对象"))?;
            let account_type = member(r, "type")
                .filter(|t| ACCOUNT_TYPES.contains(&t.as_str()))
                .ok_or_else(|| {
                    Refusal::business("ACQ.INVALID_RECEIVER_TYPE", "分账收款方类型参数非法")
                })?;
            let account =
                member(r, "account").ok_or_else(|| Refusal::invalid_parameter("缺少 account"))?;
            if account_type == "userId" && !is_user_id(&account) {
                return Err(Refusal::invalid_parameter(format!(
                    "account 不是支付宝用户号: {account}"
                )));
            }
            let name = member(r, "name");
            if need_name && name.is_none() {
                return Err(Refusal::invalid_parameter("绑定分账关系需要 name"));
            }
            Ok(Receiver {
                account_type,
                account,
                name,
                memo: member(r, "memo"),
            })
        })
        .collect()
}

/// 2088 followed by twelve digits.
pub(super) fn is_user_id(s: &str) -> bool {
    s.len() == 16 && s.starts_with("2088") && s.bytes().all(|b| b.is_ascii_digit())
}

fn result_success() -> Obj {
    Obj::success().with("result_code", "SUCCESS")
}

pub(super) async fn bind(sim: &Sim, call: &Call) -> Result<Obj, Refusal> {
    let list = receivers(call, true)?;
    let now = now_ms();
    update(sim, |s| {
        for r in list {
            let key = relation_key(&call.owner(), &r.account_type, &r.account);
            s.relations.insert(
                key,
                Relation {
                    app_id: call.app_id.clone(),
                    account_type: r.account_type,
                    account: r.account,
                    name: r.name,
                    memo: r.memo,
                    bound_ms: now,
                },
            );
        }
        Ok(())
    })
    .await?;
    Ok(result_success())
}

pub(super) async fn unbind(sim: &Sim, call: &Call) -> Result<Obj, Refusal> {
    let list = receivers(call, false)?;
    update(sim, |s| {
        for r in list {
            s.relations
                .remove(&relation_key(&call.owner(), &r.account_type, &r.account));
        }
        Ok(())
    })
    .await?;
    Ok(result_success())
}

pub(super) async fn batchquery(sim: &Sim, call: &Call) -> Result<Obj, Refusal> {
    required(call, "out_request_no")?;
    let number = |k: &str, default: u64| {
        match call.biz.get(k) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Number(n)) => n.as_u64().ok_or(()),
            Some(Value::String(s)) => s.parse().map_err(|_| ()),
            Some(_) => Err(()),
        }
        .map_err(|()| Refusal::invalid_parameter(format!("{k} 不是正整数")))
    };
    let page_num = number("page_num", 1)?;
    let page_size = number("page_size", 20)?;
    if page_num == 0 || !(1..=100).contains(&page_size) {
        return Err(Refusal::invalid_parameter(
            "page_num 从 1 开始, page_size 为 1 到 100",
        ));
    }
    let prefix = format!("{}/", call.owner());
    let all: Vec<Value> = sim.store.read(|s| {
        s.relations
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            // Alipay does not return the receiver's name here.
            .map(|(_, r)| {
                let mut v = json!({ "type": r.account_type, "account": r.account });
                if let (Some(memo), Some(m)) = (&r.memo, v.as_object_mut()) {
                    m.insert("memo".to_owned(), json!(memo));
                }
                v
            })
            .collect()
    });
    let total = all.len() as u64;
    let pages = total.div_ceil(page_size);
    let skip = usize::try_from((page_num - 1).saturating_mul(page_size)).unwrap_or(usize::MAX);
    let size = usize::try_from(page_size).unwrap_or(usize::MAX);
    let page: Vec<Value> = all.into_iter().skip(skip).take(size).collect();
    Ok(result_success()
        .with("receiver_list", page)
        .with("total_page_num", pages)
        .with("total_record_num", total)
        .with("current_page_num", page_num)
        .with("current_page_size", page_size))
}
