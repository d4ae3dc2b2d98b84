//! Splits (分账): the reservation that keeps an order's splits and refunds within what was paid,
//! ending a split with its ledger movement and notification, and the lookups. Every lookup a site
//! can trigger is scoped by its `SiteId`.

use serde::{Deserialize, Serialize};

use crate::domain::{
    Amount, Channel, EventType, Fingerprint, JobSubject, NewSplit, OrderId, OrderStatus,
    OutSplitNo, ReceiverAccount, ReceiverName, ReceiverResult, ReceiverType, SiteId, Split,
    SplitDescription, SplitPurpose, SplitReceiver, SplitShare, SplitStatus, Timestamp,
    UpstreamSplitNo, new_event_id,
};

use super::jobs::subject_column;
use super::ledger::{fee_split_movements, post_movement, post_split};
use super::{Store, StoreError, with_pool, with_write_tx};

/// What [`Store::reserve_split`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitReserveOutcome {
    /// This call stored the split, `processing`, with its amount reserved against the order.
    Reserved(Split),
    /// The site already had a split with this `out_split_no` (maybe from a concurrent call);
    /// nothing was reserved. Whether it is the same request is for the caller to decide.
    Existing(Split),
    /// The order is not paid (or no longer): nothing can be split.
    NotSplittable(OrderStatus),
    /// The order was not made for profit sharing: the channel holds none of its money to split.
    NotForProfitSharing,
    /// The amount is more than what is left: what was paid, less every split and refund that is
    /// not `failed`.
    ExceedsPaid { splittable: i64 },
    /// The amount would take the order's splits past what the channel lets the merchant split
    /// away; `left` is what the ratio still allows.
    ExceedsRatio { left: i64 },
}

/// How a `processing` split ended, as the channel said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitFinish {
    pub split_id: i64,
    /// `Succeeded` or `Failed`.
    pub to: SplitStatus,
    /// Every share with its result, in the split's order. What the `succeeded` shares add up to
    /// is booked; the rest of the split's amount is freed.
    pub shares: Vec<SplitShare>,
    pub channel_split_id: Option<String>,
    pub error: Option<String>,
    pub at: Timestamp,
}

/// What [`Store::finish_split`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitFinishOutcome {
    /// This call ended the split; as it is now, and the site's notification event (none for a
    /// split the site did not ask for).
    Applied {
        split: Split,
        event_id: Option<String>,
    },
    /// The split was no longer `processing` (a duplicate or late answer): nothing was written.
    Lost(Split),
}

/// What an order holds against its payment, for splits and refunds alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldTotals {
    pub paid: i64,
    pub refund_reserved: i64,
    pub split_reserved: i64,
}

impl HeldTotals {
    /// What neither a split nor a refund holds yet.
    #[must_use]
    pub fn free(&self) -> i64 {
        self.paid - self.refund_reserved - self.split_reserved
    }
}

const SELECT_SPLITS: &str = "SELECT id, order_id, site_id, channel, out_split_no, \
     upstream_split_no, amount_fen, receivers, description, fingerprint, status, \
     channel_split_id, upstream_error, created_at, updated_at, finished_at, version, purpose, \
     unfreeze_rest FROM splits";

impl Store {
    /// Stores the split and reserves its amount against its order, in one transaction, unless the
    /// site already has a split with this `out_split_no`. The reservation is one conditional
    /// update of the order — paid, made for profit sharing, what its refunds and splits hold plus
    /// this amount within what was paid, and its splits within `cap_fen` (the channel's ratio) —
    /// the same row and the same sum [`Store::reserve_refund`] checks, so splits and refunds
    /// together never exceed what was paid under any concurrency.
    ///
    /// The split's `check_split` job is inserted with it, due at `check_at`.
    ///
    /// # Errors
    /// `Database`, `Corrupt`; `NotFound` when the order is not the site's.
    pub async fn reserve_split(
        &self,
        new: &NewSplit,
        cap_fen: i64,
        check_at: Timestamp,
    ) -> Result<SplitReserveOutcome, StoreError> {
        let insert = "INSERT INTO splits (order_id, site_id, out_split_no, upstream_split_no, \
                      channel, amount_fen, receivers, description, fingerprint, status, \
                      created_at, updated_at, version, purpose, unfreeze_rest) \
                      SELECT id, site_id, $2, $3, channel, $4, $5, $6, $7, 'processing', $8, $8, 0, \
                      $10, $11 FROM orders WHERE id = $1 AND site_id = $9 \
                      ON CONFLICT (site_id, out_split_no) DO NOTHING \
                      RETURNING id";
        let reserve = "UPDATE orders SET split_reserved_fen = split_reserved_fen + $2, \
                       updated_at = $3, version = version + 1 \
                       WHERE id = $1 AND status = 'paid' AND profit_sharing = 1 \
                       AND refund_reserved_fen + split_reserved_fen + $2 <= amount_fen \
                       AND split_reserved_fen + $2 <= $4";
        let check = "INSERT INTO jobs (kind, subject, due_at, attempt) VALUES ($1, $2, $3, 0)";
        let r = new.request();
        let amount = r.receivers.total();
        let at = new.created_at().as_millis();
        let shares: Vec<SplitShare> = r
            .receivers
            .as_slice()
            .iter()
            .map(|receiver| SplitShare {
                receiver: receiver.clone(),
                result: ReceiverResult::Pending,
                channel_detail_id: None,
                fail_reason: None,
            })
            .collect();
        let receivers = shares_json(&shares)?;
        let inserted: Option<i64> = with_write_tx!(self, tx => {
            let inserted: Option<i64> = sqlx::query_scalar(insert)
                .bind(new.order_id().as_i64())
                .bind(r.out_split_no.as_str())
                .bind(new.upstream_split_no().as_str())
                .bind(amount)
                .bind(&receivers)
                .bind(r.description.as_ref().map(SplitDescription::as_str))
                .bind(new.fingerprint().as_str())
                .bind(at)
                .bind(new.site_id().as_str())
                .bind(new.purpose().as_str())
                .bind(i64::from(new.unfreeze_rest()))
                .fetch_optional(&mut *tx)
                .await?;
            match inserted {
                Some(id) => {
                    let reserved = sqlx::query(reserve)
                        .bind(new.order_id().as_i64())
                        .bind(amount)
                        .bind(at)
                        .bind(cap_fen)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if reserved == 1 {
                        let subject = JobSubject::Split(id);
                        sqlx::query(check)
                            .bind(subject.kind().as_str())
                            .bind(subject_column(&subject))
                            .bind(check_at.as_millis())
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        Some(id)
                    } else {
                        // Nothing was stored.
                        tx.rollback().await?;
                        None
                    }
                }
                None => {
                    tx.commit().await?;
                    None
                }
            }
        });
        if let Some(id) = inserted {
            return self
                .split_by_id(id)
                .await?
                .map(SplitReserveOutcome::Reserved)
                .ok_or(StoreError::NotFound("reserved split"));
        }
        if let Some(existing) = self.find_split(new.site_id(), &r.out_split_no).await? {
            return Ok(SplitReserveOutcome::Existing(existing));
        }
        // Not inserted and not there: the reservation was refused (or the order is not the site's).
        let (status, held) = self
            .order_held(new.site_id(), new.order_id())
            .await?
            .ok_or(StoreError::NotFound("order to split"))?;
        let for_sharing = "SELECT profit_sharing FROM orders WHERE id = $1";
        let for_sharing: i64 = with_pool!(self, pool => sqlx::query_scalar(for_sharing)
            .bind(new.order_id().as_i64())
            .fetch_one(pool)
            .await)?;
        Ok(if status != OrderStatus::Paid {
            SplitReserveOutcome::NotSplittable(status)
        } else if for_sharing != 1 {
            SplitReserveOutcome::NotForProfitSharing
        } else if amount > held.free() {
            // Beyond what was paid is said first: no ratio would allow it.
            SplitReserveOutcome::ExceedsPaid {
                splittable: held.free().max(0),
            }
        } else {
            SplitReserveOutcome::ExceedsRatio {
                left: (cap_fen - held.split_reserved).max(0),
            }
        })
    }

    /// Ends a `processing` split, once: a compare-and-set on its status, with what follows from it
    /// in the same transaction. The shares the channel paid are booked in the ledger (`split`:
    /// `site_balance.shared` to `receivers.splits_payable`; for the operator's fee, the `fee`
    /// taken, and what it did not take as the fee owed) and stay reserved; the rest of the
    /// split's amount is freed for later splits and refunds. For a split the site asked for, its
    /// notification event (`PROFITSHARING.SUCCESS` or `PROFITSHARING.FAILED`) and delivery job
    /// are written with it. The split's check job is deleted. Of any number of concurrent or repeated finishes,
    /// exactly one is applied.
    ///
    /// # Errors
    /// `Corrupt` when asked to finish a split as `processing`, or a failed one with paid shares
    /// (nothing is written); `NotFound` for an unknown split; `Database`.
    pub async fn finish_split(&self, f: &SplitFinish) -> Result<SplitFinishOutcome, StoreError> {
        let paid: i64 = f
            .shares
            .iter()
            .filter(|s| s.result == ReceiverResult::Succeeded)
            .map(|s| s.receiver.amount.as_i64())
            .sum();
        let refuse = |why: &str| {
            Err(StoreError::corrupt(
                "split",
                format!("split {} {why}", f.split_id),
            ))
        };
        match f.to {
            SplitStatus::Processing => return refuse("cannot be finished as processing"),
            SplitStatus::Failed if paid > 0 => return refuse("cannot fail with shares paid"),
            SplitStatus::Succeeded if paid == 0 => return refuse("cannot succeed with none paid"),
            SplitStatus::Failed | SplitStatus::Succeeded => {}
        }
        let receivers = shares_json(&f.shares)?;
        let end = "UPDATE splits SET status = $1, updated_at = $2, version = version + 1, \
                   receivers = $3, channel_split_id = COALESCE($4, channel_split_id), \
                   upstream_error = COALESCE($5, upstream_error), finished_at = $2 \
                   WHERE id = $6 AND status = 'processing' \
                   RETURNING order_id, amount_fen, site_id, purpose";
        let release = "UPDATE orders SET split_reserved_fen = split_reserved_fen - $2, \
                       updated_at = $3, version = version + 1 WHERE id = $1";
        let notification = "INSERT INTO notification_events \
                            (id, site_id, order_id, event_type, status, attempts, created_at, \
                            split_id) \
                            SELECT $1, site_id, order_id, $2, 'pending', 0, $3, id \
                            FROM splits WHERE id = $4";
        let deliver = "INSERT INTO jobs (kind, subject, due_at, attempt) VALUES ($1, $2, $3, 0)";
        let end_check = "DELETE FROM jobs WHERE kind = $1 AND subject = $2";
        let event_type = match f.to {
            SplitStatus::Succeeded => EventType::ProfitSharingSuccess,
            SplitStatus::Failed | SplitStatus::Processing => EventType::ProfitSharingFailed,
        };
        let event_id = new_event_id();
        let at = f.at.as_millis();
        let applied: bool = with_write_tx!(self, tx => {
            let ended: Option<(i64, i64, String, String)> = sqlx::query_as(end)
                .bind(f.to.as_str())
                .bind(at)
                .bind(&receivers)
                .bind(f.channel_split_id.as_deref())
                .bind(f.error.as_deref())
                .bind(f.split_id)
                .fetch_optional(&mut *tx)
                .await?;
            match ended {
                None => {
                    tx.rollback().await?;
                    false
                }
                Some((order_id, amount, site, purpose)) => {
                    if paid > amount {
                        tx.rollback().await?;
                        return refuse("has shares paid beyond its amount");
                    }
                    let purpose = SplitPurpose::parse(&purpose).map_err(|e| {
                        StoreError::corrupt("split", format!("row {}: {e}", f.split_id))
                    })?;
                    // The money moves with the status: booked here or not at all.
                    if purpose == SplitPurpose::Fee {
                        let movements =
                            fee_split_movements(f.split_id, order_id, &site, paid, amount - paid)?;
                        for movement in &movements {
                            post_movement!(tx, movement, at);
                        }
                    } else if paid > 0 {
                        post_split!(tx, f.split_id, order_id, &site, paid, at);
                    }
                    if amount > paid {
                        sqlx::query(release).bind(order_id).bind(amount - paid).bind(at)
                            .execute(&mut *tx).await?;
                    }
                    // Only a split the site asked for is news to it; the planned ones show in
                    // its balance.
                    if purpose == SplitPurpose::Site {
                        sqlx::query(notification)
                            .bind(&event_id)
                            .bind(event_type.as_str())
                            .bind(at)
                            .bind(f.split_id)
                            .execute(&mut *tx)
                            .await?;
                        let subject = JobSubject::Event(event_id.clone());
                        sqlx::query(deliver)
                            .bind(subject.kind().as_str())
                            .bind(subject_column(&subject))
                            .bind(at)
                            .execute(&mut *tx)
                            .await?;
                    }
                    let check = JobSubject::Split(f.split_id);
                    sqlx::query(end_check)
                        .bind(check.kind().as_str())
                        .bind(subject_column(&check))
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    true
                }
            }
        });
        let split = self
            .split_by_id(f.split_id)
            .await?
            .ok_or(StoreError::NotFound("split"))?;
        Ok(if applied {
            // A delivery is due now: don't leave it to the next poll.
            self.wake_workers();
            let event_id = (split.purpose == SplitPurpose::Site).then_some(event_id);
            SplitFinishOutcome::Applied { split, event_id }
        } else {
            SplitFinishOutcome::Lost(split)
        })
    }

    /// The site's split with this `out_split_no`; another site's split of the same number is not
    /// found.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn find_split(
        &self,
        site: &SiteId,
        out_split_no: &OutSplitNo,
    ) -> Result<Option<Split>, StoreError> {
        let sql = format!("{SELECT_SPLITS} WHERE site_id = $1 AND out_split_no = $2");
        let row = with_pool!(self, pool => sqlx::query_as::<_, SplitRow>(&sql)
            .bind(site.as_str())
            .bind(out_split_no.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(Split::try_from).transpose()
    }

    /// A split by paygate's number at the channel (what the channel's news names).
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn split_by_upstream_no(
        &self,
        no: &UpstreamSplitNo,
    ) -> Result<Option<Split>, StoreError> {
        let sql = format!("{SELECT_SPLITS} WHERE upstream_split_no = $1");
        let row = with_pool!(self, pool => sqlx::query_as::<_, SplitRow>(&sql)
            .bind(no.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(Split::try_from).transpose()
    }

    /// A split by its row id (the check job's subject).
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn split_by_id(&self, id: i64) -> Result<Option<Split>, StoreError> {
        let sql = format!("{SELECT_SPLITS} WHERE id = $1");
        let row = with_pool!(self, pool => sqlx::query_as::<_, SplitRow>(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(Split::try_from).transpose()
    }

    /// The splits of one of the site's orders, oldest first; empty for another site's order.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn splits_for_order(
        &self,
        site: &SiteId,
        order: OrderId,
    ) -> Result<Vec<Split>, StoreError> {
        let sql = format!("{SELECT_SPLITS} WHERE site_id = $1 AND order_id = $2 ORDER BY id");
        let rows = with_pool!(self, pool => sqlx::query_as::<_, SplitRow>(&sql)
            .bind(site.as_str())
            .bind(order.as_i64())
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(Split::try_from).collect()
    }

    /// The order's status and what its refunds and splits hold, if it is the site's.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn order_held(
        &self,
        site: &SiteId,
        order: OrderId,
    ) -> Result<Option<(OrderStatus, HeldTotals)>, StoreError> {
        let sql = "SELECT status, amount_fen, refund_reserved_fen, split_reserved_fen \
                   FROM orders WHERE id = $1 AND site_id = $2";
        let row: Option<(String, i64, i64, i64)> = with_pool!(self, pool => sqlx::query_as(sql)
            .bind(order.as_i64())
            .bind(site.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(|(status, paid, refund_reserved, split_reserved)| {
            let status = OrderStatus::parse(&status).map_err(|e| {
                StoreError::corrupt("order", format!("row {}: {e}", order.as_i64()))
            })?;
            Ok((
                status,
                HeldTotals {
                    paid,
                    refund_reserved,
                    split_reserved,
                },
            ))
        })
        .transpose()
    }
}

/// One share as the `receivers` column holds it.
#[derive(Serialize, Deserialize)]
struct ShareColumn {
    #[serde(rename = "type")]
    kind: String,
    account: String,
    amount_fen: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    result: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    channel_detail_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fail_reason: Option<String>,
}

fn shares_json(shares: &[SplitShare]) -> Result<String, StoreError> {
    let columns: Vec<ShareColumn> = shares
        .iter()
        .map(|s| ShareColumn {
            kind: s.receiver.kind.as_str().to_owned(),
            account: s.receiver.account.as_str().to_owned(),
            amount_fen: s.receiver.amount.as_i64(),
            name: s.receiver.name.as_ref().map(|n| n.as_str().to_owned()),
            result: s.result.as_str().to_owned(),
            channel_detail_id: s.channel_detail_id.clone(),
            fail_reason: s.fail_reason.clone(),
        })
        .collect();
    serde_json::to_string(&columns)
        .map_err(|e| StoreError::corrupt("split", format!("receivers: {e}")))
}

#[derive(sqlx::FromRow)]
struct SplitRow {
    id: i64,
    order_id: i64,
    site_id: String,
    channel: String,
    out_split_no: String,
    upstream_split_no: String,
    amount_fen: i64,
    receivers: String,
    description: Option<String>,
    fingerprint: String,
    status: String,
    channel_split_id: Option<String>,
    upstream_error: Option<String>,
    created_at: i64,
    updated_at: i64,
    finished_at: Option<i64>,
    version: i64,
    purpose: String,
    unfreeze_rest: i64,
}

impl TryFrom<SplitRow> for Split {
    type Error = StoreError;

    fn try_from(r: SplitRow) -> Result<Self, StoreError> {
        let bad = |e: crate::domain::DomainError| {
            StoreError::corrupt("split", format!("row {}: {e}", r.id))
        };
        let columns: Vec<ShareColumn> = serde_json::from_str(&r.receivers)
            .map_err(|e| StoreError::corrupt("split", format!("row {}: receivers: {e}", r.id)))?;
        let shares = columns
            .into_iter()
            .map(|c| {
                Ok(SplitShare {
                    receiver: SplitReceiver {
                        kind: ReceiverType::parse(&c.kind)?,
                        account: ReceiverAccount::parse(&c.account)?,
                        amount: Amount::parse(c.amount_fen)?,
                        name: c.name.as_deref().map(ReceiverName::parse).transpose()?,
                    },
                    result: ReceiverResult::parse(&c.result)?,
                    channel_detail_id: c.channel_detail_id,
                    fail_reason: c.fail_reason,
                })
            })
            .collect::<Result<Vec<_>, crate::domain::DomainError>>()
            .map_err(bad)?;
        Ok(Self {
            id: r.id,
            order_id: OrderId::from_i64(r.order_id),
            site_id: SiteId::parse(&r.site_id).map_err(bad)?,
            channel: Channel::parse(&r.channel).map_err(bad)?,
            out_split_no: OutSplitNo::stored(&r.out_split_no).map_err(bad)?,
            upstream_split_no: UpstreamSplitNo::parse(&r.upstream_split_no).map_err(bad)?,
            amount: Amount::parse(r.amount_fen).map_err(bad)?,
            shares,
            description: r
                .description
                .as_deref()
                .map(SplitDescription::parse)
                .transpose()
                .map_err(bad)?,
            fingerprint: Fingerprint::from_stored(r.fingerprint),
            status: SplitStatus::parse(&r.status).map_err(bad)?,
            channel_split_id: r.channel_split_id,
            upstream_error: r.upstream_error,
            created_at: Timestamp::from_millis(r.created_at),
            updated_at: Timestamp::from_millis(r.updated_at),
            finished_at: r.finished_at.map(Timestamp::from_millis),
            version: r.version,
            purpose: SplitPurpose::parse(&r.purpose).map_err(bad)?,
            unfreeze_rest: r.unfreeze_rest == 1,
        })
    }
}
