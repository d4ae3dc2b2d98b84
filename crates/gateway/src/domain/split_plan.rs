//! What paygate itself splits of an order once it is paid, fixed when the order is made: the
//! receivers the site named with the order (weidoufu's `ledger`), and the operator's fee when the
//! site is served as a sub-merchant, whose money settles to the site's own merchant account, so
//! the fee can only reach the operator by profit sharing.
//!
//! The plan is stored with the order; the order becoming paid queues one job that makes the
//! plan's splits through the same reservation and channel calls as a site's own split. Each
//! planned split has a number derived from the order (`pg-ledger-…`, `pg-fee-…`), which a site
//! cannot use, so a retried job makes each split once.

use serde::{Deserialize, Serialize};

use super::{
    Amount, DomainError, FeeSchedule, Order, OrderId, OutSplitNo, ReceiverAccount, ReceiverName,
    ReceiverType, SplitDescription, SplitReceiver, SplitReceivers, SplitRequest,
};

/// Who asked for a split. The names are stored: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SplitPurpose {
    /// The site, through the API.
    Site,
    /// The site, in the order's plan: receivers it named when it made the order.
    Ledger,
    /// The operator's fee, taken from a sub-merchant's payment.
    Fee,
}

impl SplitPurpose {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Site => "site",
            Self::Ledger => "ledger",
            Self::Fee => "fee",
        }
    }

    /// # Errors
    /// `Malformed` for anything but the three purposes.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "site" => Ok(Self::Site),
            "ledger" => Ok(Self::Ledger),
            "fee" => Ok(Self::Fee),
            _ => Err(DomainError::Malformed {
                field: "split purpose",
            }),
        }
    }

    /// The number of this planned split of `order`. `pg-` starts no number a site may choose.
    #[must_use]
    pub fn split_no(self, order: OrderId) -> OutSplitNo {
        OutSplitNo::reserved(&format!(
            "{}{}-{}",
            OutSplitNo::RESERVED_PREFIX,
            self.as_str(),
            order.as_i64()
        ))
    }

    /// What the receivers are told the split is for.
    fn description(self) -> &'static str {
        match self {
            Self::Fee => "服务费",
            Self::Site | Self::Ledger => SplitDescription::default_text(),
        }
    }
}

/// A receiver the operator set up for a site: an account its orders' plans may name, with the
/// real name the channel needs to add it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteReceiver {
    pub kind: ReceiverType,
    pub account: ReceiverAccount,
    pub name: ReceiverName,
}

/// The operator's own receiver of its fee, and the site's fee schedule when the order was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFee {
    pub kind: ReceiverType,
    pub account: ReceiverAccount,
    pub name: ReceiverName,
    pub schedule: FeeSchedule,
}

/// One split to make: what it is for, and the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedSplit {
    pub purpose: SplitPurpose,
    pub request: SplitRequest,
}

/// An order's plan. Empty plans are not stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SplitPlan {
    /// The receivers the site named, each with its amount and the name the operator set up.
    pub ledger: Vec<SplitReceiver>,
    pub fee: Option<PlannedFee>,
    /// The last planned split unfreezes the rest: the site did not ask to split the order
    /// itself, so nothing else will, and its money must not stay frozen at the channel.
    pub unfreeze_rest: bool,
}

impl SplitPlan {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ledger.is_empty() && self.fee.is_none()
    }

    /// The fee the plan takes of an order paid `amount`, in fen (0 without a planned fee).
    #[must_use]
    pub fn fee_of(&self, amount: Amount) -> i64 {
        self.fee.as_ref().map_or(0, |f| f.schedule.fee_of(amount))
    }

    /// The splits to make of `order`, in the order they are made: the operator's fee first (none
    /// when it comes to 0), so that nothing the site splits can leave too little for it, then the
    /// site's receivers. The last one unfreezes the rest if the plan says so.
    ///
    /// # Errors
    /// `Malformed` when the stored receivers no longer form a valid split (never for a plan made
    /// by [`SplitPlan`]'s own checks).
    pub fn splits(&self, order: &Order) -> Result<Vec<PlannedSplit>, DomainError> {
        let mut splits = Vec::new();
        let request = |purpose: SplitPurpose, receivers: Vec<SplitReceiver>| {
            Ok::<_, DomainError>(PlannedSplit {
                purpose,
                request: SplitRequest {
                    out_split_no: purpose.split_no(order.id),
                    receivers: SplitReceivers::parse(receivers)?,
                    description: Some(SplitDescription::parse(purpose.description())?),
                    unfreeze_rest: false,
                },
            })
        };
        if let Some(fee) = &self.fee
            && let Ok(amount) = Amount::parse(fee.schedule.fee_of(order.amount))
        {
            let receiver = SplitReceiver {
                kind: fee.kind,
                account: fee.account.clone(),
                amount,
                name: Some(fee.name.clone()),
            };
            splits.push(request(SplitPurpose::Fee, vec![receiver])?);
        }
        if !self.ledger.is_empty() {
            splits.push(request(SplitPurpose::Ledger, self.ledger.clone())?);
        }
        if let Some(last) = splits.last_mut() {
            last.request.unfreeze_rest = self.unfreeze_rest;
        }
        Ok(splits)
    }

    /// The stored form.
    #[must_use]
    pub fn to_json(&self) -> String {
        let column = PlanColumn {
            ledger: self
                .ledger
                .iter()
                .map(|r| ReceiverColumn {
                    kind: r.kind.as_str().to_owned(),
                    account: r.account.as_str().to_owned(),
                    name: r.name.as_ref().map(|n| n.as_str().to_owned()),
                    amount_fen: r.amount.as_i64(),
                })
                .collect(),
            fee: self.fee.as_ref().map(|f| FeeColumn {
                kind: f.kind.as_str().to_owned(),
                account: f.account.as_str().to_owned(),
                name: f.name.as_str().to_owned(),
                rate_bps: f.schedule.rate_bps(),
                fixed_fen: f.schedule.fixed_fen(),
            }),
            unfreeze_rest: self.unfreeze_rest,
        };
        serde_json::to_string(&column).unwrap_or_else(|_| "{}".to_owned())
    }

    /// # Errors
    /// `Malformed { field: "split_plan" }` for anything [`SplitPlan::to_json`] does not write.
    pub fn from_json(text: &str) -> Result<Self, DomainError> {
        let malformed = |_| DomainError::Malformed {
            field: "split_plan",
        };
        let column: PlanColumn =
            serde_json::from_str(text).map_err(|_| DomainError::Malformed {
                field: "split_plan",
            })?;
        let ledger = column
            .ledger
            .into_iter()
            .map(|r| {
                Ok(SplitReceiver {
                    kind: ReceiverType::parse(&r.kind)?,
                    account: ReceiverAccount::parse(&r.account)?,
                    amount: Amount::parse(r.amount_fen)?,
                    name: r.name.as_deref().map(ReceiverName::parse).transpose()?,
                })
            })
            .collect::<Result<Vec<_>, DomainError>>()
            .map_err(malformed)?;
        let fee = column
            .fee
            .map(|f| {
                Ok(PlannedFee {
                    kind: ReceiverType::parse(&f.kind)?,
                    account: ReceiverAccount::parse(&f.account)?,
                    name: ReceiverName::parse(&f.name)?,
                    schedule: FeeSchedule::parse(f.rate_bps, f.fixed_fen)?,
                })
            })
            .transpose()
            .map_err(malformed)?;
        Ok(Self {
            ledger,
            fee,
            unfreeze_rest: column.unfreeze_rest,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct PlanColumn {
    #[serde(default)]
    ledger: Vec<ReceiverColumn>,
    #[serde(default)]
    fee: Option<FeeColumn>,
    #[serde(default)]
    unfreeze_rest: bool,
}

#[derive(Serialize, Deserialize)]
struct ReceiverColumn {
    #[serde(rename = "type")]
    kind: String,
    account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    amount_fen: i64,
}

#[derive(Serialize, Deserialize)]
struct FeeColumn {
    #[serde(rename = "type")]
    kind: String,
    account: String,
    name: String,
    rate_bps: i64,
    fixed_fen: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> SplitPlan {
        SplitPlan {
            ledger: vec![SplitReceiver {
                kind: ReceiverType::WechatMerchant,
                account: ReceiverAccount::parse("1900000110").unwrap(),
                amount: Amount::parse(1000).unwrap(),
                name: Some(ReceiverName::parse("示例商户").unwrap()),
            }],
            fee: Some(PlannedFee {
                kind: ReceiverType::WechatMerchant,
                account: ReceiverAccount::parse("1900000100").unwrap(),
                name: ReceiverName::parse("服务商").unwrap(),
                schedule: FeeSchedule::parse(60, 0).unwrap(),
            }),
            unfreeze_rest: true,
        }
    }

    #[test]
    fn a_plan_round_trips_through_its_stored_form() {
        let plan = plan();
        assert_eq!(SplitPlan::from_json(&plan.to_json()), Ok(plan));
        assert!(SplitPlan::from_json("not json").is_err());
        assert!(SplitPlan::from_json(r#"{"fee":{"type":"x"}}"#).is_err());
    }

    #[test]
    fn planned_split_numbers_are_the_orders_and_no_site_may_choose_one() {
        let no = SplitPurpose::Fee.split_no(OrderId::from_i64(42));
        assert_eq!(no.as_str(), "pg-fee-42");
        assert!(OutSplitNo::parse(no.as_str()).is_err());
        assert!(OutSplitNo::parse("pg-anything").is_err());
        assert!(OutSplitNo::parse("pgx").is_ok());
        for p in [SplitPurpose::Site, SplitPurpose::Ledger, SplitPurpose::Fee] {
            assert_eq!(SplitPurpose::parse(p.as_str()), Ok(p));
        }
    }
}
