//! The life of an order, and the one place that says which status may follow which.

use super::DomainError;

/// Seed 000's statuses, with its lower-case names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Stored, upstream not (yet) known to have it. The row exists before the upstream call.
    Created,
    /// The channel accepted the order; waiting for the payer.
    Pending,
    Paid,
    /// The channel refused the order or the payment failed.
    Failed,
    /// Closed upstream (expired or closed by the site) and therefore here.
    Closed,
    /// Paid, then refunded in full.
    Refunded,
}

impl OrderStatus {
    /// Whether an order in `self` may become `to`. Self-transitions are not transitions: applying the
    /// same news twice must lose the compare-and-set, not write a second event.
    #[must_use]
    pub fn can_become(self, to: Self) -> bool {
        use OrderStatus::{Closed, Created, Failed, Paid, Pending, Refunded};
        match self {
            // Created → Paid: the upstream call's answer was lost (crash, timeout) but the payer paid;
            // the active query finds out. Created → Closed: expired before upstream ever had it.
            Created => matches!(to, Pending | Paid | Failed | Closed),
            Pending => matches!(to, Paid | Failed | Closed),
            // The channel is the truth about money: a payment it reports after a failure is recorded.
            Failed => matches!(to, Paid),
            Paid => matches!(to, Refunded),
            // Closed upstream first, so a payment after it is one that won a race with the close
            // (or the channel's close failed unseen). The channel is the truth about money: once
            // it confirms the payment the order is paid, and the site told so.
            Closed => matches!(to, Paid),
            Refunded => false,
        }
    }

    /// No further change is possible.
    #[must_use]
    pub fn is_final(self) -> bool {
        use OrderStatus::{Closed, Created, Failed, Paid, Pending, Refunded};
        match self {
            Refunded => true,
            Created | Pending | Failed | Paid | Closed => false,
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Failed => "failed",
            Self::Closed => "closed",
            Self::Refunded => "refunded",
        }
    }

    /// # Errors
    /// `InvalidStatus` for an unknown name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "created" => Ok(Self::Created),
            "pending" => Ok(Self::Pending),
            "paid" => Ok(Self::Paid),
            "failed" => Ok(Self::Failed),
            "closed" => Ok(Self::Closed),
            "refunded" => Ok(Self::Refunded),
            _ => Err(DomainError::InvalidStatus(s.to_owned())),
        }
    }

    pub const ALL: [Self; 6] = [
        Self::Created,
        Self::Pending,
        Self::Paid,
        Self::Failed,
        Self::Closed,
        Self::Refunded,
    ];
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::{self, Closed, Created, Failed, Paid, Pending, Refunded};

    #[test]
    fn the_transition_table() {
        let allowed = [
            (Created, Pending),
            (Created, Paid),
            (Created, Failed),
            (Created, Closed),
            (Pending, Paid),
            (Pending, Failed),
            (Pending, Closed),
            (Failed, Paid),
            (Closed, Paid),
            (Paid, Refunded),
        ];
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }

    #[test]
    fn paid_is_never_undone_and_finals_stay_final() {
        for to in [Created, Pending, Failed, Closed] {
            assert!(!Paid.can_become(to));
        }
        for s in OrderStatus::ALL {
            assert_eq!(
                s.is_final(),
                OrderStatus::ALL.iter().all(|to| !s.can_become(*to)),
                "{s:?}"
            );
        }
    }

    #[test]
    fn names_are_the_seeds() {
        let names: Vec<_> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            ["created", "pending", "paid", "failed", "closed", "refunded"]
        );
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Ok(s));
        }
        assert_eq!(
            OrderStatus::parse("PAID").unwrap_err().code(),
            "invalid_status"
        );
    }
}
