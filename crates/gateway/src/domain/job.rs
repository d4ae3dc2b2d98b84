//! Background jobs: what a job does (its kind), to what (its subject), and when it is due.

use super::{BillDay, Channel, OrderId, Timestamp};

/// What a job does; its subject says to what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Deliver one notification event to its site; the subject is the event.
    DeliverNotification,
    /// Ask the channel about one non-final order; the subject is the order.
    CheckOrder,
    /// Find out (and, if the channel never got it, send) one `processing` refund; the subject is
    /// the refund.
    CheckRefund,
    /// Find out (and, if the channel never got it, send) one `processing` split; the subject is
    /// the split.
    CheckSplit,
    /// Make the splits of a paid order's split plan; the subject is the order.
    SplitPaidOrder,
    /// Reconcile one day of one channel against its bill; the subject is the channel and day.
    ReconcileDay,
}

impl JobKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeliverNotification => "deliver_notification",
            Self::CheckOrder => "check_order",
            Self::CheckRefund => "check_refund",
            Self::CheckSplit => "check_split",
            Self::SplitPaidOrder => "split_paid_order",
            Self::ReconcileDay => "reconcile_day",
        }
    }

    /// `None` for a kind this build does not know (say, written by a newer node).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "deliver_notification" => Some(Self::DeliverNotification),
            "check_order" => Some(Self::CheckOrder),
            "check_refund" => Some(Self::CheckRefund),
            "check_split" => Some(Self::CheckSplit),
            "split_paid_order" => Some(Self::SplitPaidOrder),
            "reconcile_day" => Some(Self::ReconcileDay),
            _ => None,
        }
    }
}

/// What a job is about. Each kind has exactly one kind of subject, so the subject also tells the
/// kind: a job cannot be a notification delivery about an order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum JobSubject {
    /// A notification event, by its `evt_…` id.
    Event(String),
    /// An order.
    Order(OrderId),
    /// A refund, by its row id.
    Refund(i64),
    /// A split, by its row id.
    Split(i64),
    /// A paid order whose split plan is to be carried out.
    PaidOrder(OrderId),
    /// A channel's bill day.
    Bill(Channel, BillDay),
}

impl JobSubject {
    #[must_use]
    pub fn kind(&self) -> JobKind {
        match self {
            Self::Event(_) => JobKind::DeliverNotification,
            Self::Order(_) => JobKind::CheckOrder,
            Self::Refund(_) => JobKind::CheckRefund,
            Self::Split(_) => JobKind::CheckSplit,
            Self::PaidOrder(_) => JobKind::SplitPaidOrder,
            Self::Bill(..) => JobKind::ReconcileDay,
        }
    }
}

/// The event id, or the order or refund id in decimal: what operators see in logs.
impl std::fmt::Display for JobSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Event(id) => f.write_str(id),
            Self::Order(id) => write!(f, "{}", id.as_i64()),
            Self::Refund(id) => write!(f, "refund {id}"),
            Self::Split(id) => write!(f, "split {id}"),
            Self::PaidOrder(id) => write!(f, "splits of {}", id.as_i64()),
            Self::Bill(channel, day) => write!(f, "{} bill of {day}", channel.as_str()),
        }
    }
}

/// A claimed job, as its handler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub subject: JobSubject,
    pub due_at: Timestamp,
    /// How many times the job was rescheduled (0 on its first run).
    pub attempt: i32,
}

impl Job {
    #[must_use]
    pub fn kind(&self) -> JobKind {
        self.subject.kind()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_follow_from_subjects() {
        for kind in [
            JobKind::DeliverNotification,
            JobKind::CheckOrder,
            JobKind::CheckRefund,
            JobKind::CheckSplit,
            JobKind::SplitPaidOrder,
            JobKind::ReconcileDay,
        ] {
            assert_eq!(JobKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(JobKind::parse("settle_bill"), None);
        assert_eq!(JobSubject::Refund(7).kind(), JobKind::CheckRefund);
        let event = JobSubject::Event("evt_1".into());
        let order = JobSubject::Order(OrderId::from_i64(42));
        assert_eq!(event.kind(), JobKind::DeliverNotification);
        assert_eq!(order.kind(), JobKind::CheckOrder);
        assert_eq!(
            (event.to_string(), order.to_string()),
            ("evt_1".into(), "42".into())
        );
    }
}
