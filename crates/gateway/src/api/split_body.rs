//! The body of `POST /v1/orders/{out_trade_no}/splits`, parsed at the edge into a
//! [`SplitRequest`], and a split as `/v1` shows it.

use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::input::Fields;
use crate::domain::{
    DomainError, OutSplitNo, OutTradeNo, ReceiverAccount, ReceiverName, ReceiverType, Split,
    SplitDescription, SplitReceiver, SplitReceivers, SplitRequest, SplitShare, SplitStatus,
    Timestamp,
};
use crate::service::SplitView;

/// The body of `POST /v1/orders/{out_trade_no}/splits`.
#[derive(Debug, ToSchema)]
pub struct V1SplitRequest {
    /// The site's split number: 1-64 characters of letters, digits, `_` and `-`, unique per site;
    /// `pg-…` numbers are paygate's own splits of the site's orders and cannot be chosen.
    /// Sending the same number with the same content again is the same split.
    #[schema(value_type = String, example = "split_20240101_001")]
    pub out_split_no: OutSplitNo,
    /// 1-50 receivers of the order's channel, each account once.
    #[schema(value_type = Vec<V1SplitReceiver>)]
    pub receivers: SplitReceivers,
    /// What the split is for, as the receivers see it: 1-80 characters (`分账` when absent).
    #[schema(value_type = Option<String>, example = "平台服务费")]
    pub description: Option<SplitDescription>,
    /// `true`: after this split the channel unfreezes what the order has left, which settles to
    /// the merchant; no later split of the order can be made. Default `false` (the rest stays
    /// frozen for further splits, up to 180 days at WeChat Pay).
    #[schema(example = false)]
    pub unfreeze_rest: bool,
}

/// One receiver and its share (documentation only: receivers are read into [`SplitReceiver`]).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct V1SplitReceiver {
    /// WeChat Pay `MERCHANT_ID` or `PERSONAL_OPENID`; Alipay `userId` or `loginName`.
    #[schema(value_type = String, example = "PERSONAL_OPENID")]
    r#type: String,
    /// The merchant number, openid (under the order's appid), `2088…` user id or Alipay login.
    #[schema(value_type = String, example = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")]
    account: String,
    /// Fen, a positive integer.
    #[schema(value_type = i64, example = 1000)]
    amount: i64,
    /// The receiver's real name: required for `MERCHANT_ID` (WeChat Pay checks it) and for Alipay
    /// receivers (Alipay binds none without it).
    #[schema(value_type = Option<String>)]
    name: Option<String>,
}

impl V1SplitRequest {
    /// # Errors
    /// The first field refused (receivers' fields as `receivers.type`, `receivers.account`,
    /// `receivers.amount`, `receivers.name`), or `MissingFields` naming every absent one.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let f = Fields::parse(body)?;
        f.require(&["out_split_no", "receivers"])?;
        let out_split_no = OutSplitNo::parse(f.text_as("out_split_no", "out_split_no")?)?;
        let receivers = f
            .objects("receivers")?
            .iter()
            .map(receiver)
            .collect::<Result<Vec<_>, _>>()?;
        let description = f
            .str(
                "description",
                DomainError::Malformed {
                    field: "description",
                },
            )?
            .map(SplitDescription::parse)
            .transpose()?;
        Ok(Self {
            out_split_no,
            receivers: SplitReceivers::parse(receivers)?,
            description,
            unfreeze_rest: f.flag("unfreeze_rest")?,
        })
    }
}

fn receiver(r: &Fields) -> Result<SplitReceiver, DomainError> {
    let name = r
        .str(
            "name",
            DomainError::Malformed {
                field: "receivers.name",
            },
        )?
        .map(ReceiverName::parse)
        .transpose()?;
    Ok(SplitReceiver {
        kind: ReceiverType::parse(r.text_as("type", "receivers.type")?)?,
        account: ReceiverAccount::parse(r.text_as("account", "receivers.account")?)?,
        amount: r.amount_as("amount", "receivers.amount")?,
        name,
    })
}

impl From<V1SplitRequest> for SplitRequest {
    fn from(r: V1SplitRequest) -> Self {
        Self {
            out_split_no: r.out_split_no,
            receivers: r.receivers,
            description: r.description,
            unfreeze_rest: r.unfreeze_rest,
        }
    }
}

/// A share of a split as `/v1` shows it. The receiver's name is not shown back.
#[derive(Debug, Serialize, ToSchema)]
pub struct V1SplitShare {
    #[serde(rename = "type")]
    #[schema(example = "PERSONAL_OPENID")]
    pub kind: &'static str,
    pub account: String,
    /// Fen.
    #[schema(example = 1000)]
    pub amount: i64,
    /// `pending` until the split ends; then `succeeded` or `failed`.
    #[schema(example = "succeeded")]
    pub result: &'static str,
    /// Why the channel did not pay this share.
    pub fail_reason: Option<String>,
}

impl V1SplitShare {
    fn of(s: &SplitShare) -> Self {
        Self {
            kind: s.receiver.kind.as_str(),
            account: s.receiver.account.as_str().to_owned(),
            amount: s.receiver.amount.as_i64(),
            result: s.result.as_str(),
            fail_reason: s.fail_reason.clone(),
        }
    }
}

/// A split as `/v1` shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct V1Split {
    #[schema(example = "split_20240101_001")]
    pub out_split_no: String,
    /// The order whose money it splits.
    #[schema(example = "order_20240101_001")]
    pub out_trade_no: String,
    /// What its receivers take together, in fen.
    #[schema(example = 1000)]
    pub amount: i64,
    /// `processing` until the channel says how it ended (WeChat Pay finishes splits later); then
    /// `succeeded` (the channel paid its shares, or some of them: see each receiver) or `failed`
    /// (nothing was paid, and the amount is free again).
    #[schema(example = "succeeded")]
    pub status: &'static str,
    pub receivers: Vec<V1SplitShare>,
    pub description: Option<String>,
    /// Whether the channel unfreezes what the order has left after this split.
    pub unfreeze_rest: bool,
    /// The channel's own id of the split (WeChat Pay `order_id`), once known.
    pub channel_split_id: Option<String>,
    #[schema(example = "2024-01-30T08:15:00Z")]
    pub created_at: String,
    /// When it ended; `null` while `processing`.
    pub finished_at: Option<String>,
    /// Why a `failed` split failed: the channel's code and message; `null` otherwise.
    pub failure_reason: Option<String>,
}

impl V1Split {
    #[must_use]
    pub fn new(s: &Split, out_trade_no: &OutTradeNo) -> Self {
        Self {
            out_split_no: s.out_split_no.as_str().to_owned(),
            out_trade_no: out_trade_no.as_str().to_owned(),
            amount: s.amount.as_i64(),
            status: s.status.as_str(),
            receivers: s.shares.iter().map(V1SplitShare::of).collect(),
            description: s.description.as_ref().map(|d| d.as_str().to_owned()),
            unfreeze_rest: s.unfreeze_rest,
            channel_split_id: s.channel_split_id.clone(),
            created_at: s.created_at.to_rfc3339(),
            finished_at: s.finished_at.map(Timestamp::to_rfc3339),
            failure_reason: match s.status {
                SplitStatus::Failed => s.upstream_error.clone(),
                SplitStatus::Processing | SplitStatus::Succeeded => None,
            },
        }
    }
}

impl From<SplitView> for V1Split {
    fn from(v: SplitView) -> Self {
        Self::new(&v.split, &v.out_trade_no)
    }
}
