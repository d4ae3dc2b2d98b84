//! The order states Jeepay's answers and notifications carry as numbers (`PayOrder.STATE_*`,
//! `RefundOrder.STATE_*`).

/// A pay order's `state` (`orderState` in the create answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayState {
    Created,
    Paying,
    Succeeded,
    Failed,
    Cancelled,
    Refunded,
    Closed,
}

impl PayState {
    /// The number on the wire.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::Created => 0,
            Self::Paying => 1,
            Self::Succeeded => 2,
            Self::Failed => 3,
            Self::Cancelled => 4,
            Self::Refunded => 5,
            Self::Closed => 6,
        }
    }

    /// The state a wire number stands for, if any.
    #[must_use]
    pub fn from_code(code: u8) -> Option<Self> {
        [
            Self::Created,
            Self::Paying,
            Self::Succeeded,
            Self::Failed,
            Self::Cancelled,
            Self::Refunded,
            Self::Closed,
        ]
        .into_iter()
        .find(|state| state.code() == code)
    }
}

/// A refund order's `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundState {
    Created,
    Refunding,
    Succeeded,
    Failed,
    Closed,
}

impl RefundState {
    /// The number on the wire.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::Created => 0,
            Self::Refunding => 1,
            Self::Succeeded => 2,
            Self::Failed => 3,
            Self::Closed => 4,
        }
    }

    /// The state a wire number stands for, if any.
    #[must_use]
    pub fn from_code(code: u8) -> Option<Self> {
        [
            Self::Created,
            Self::Refunding,
            Self::Succeeded,
            Self::Failed,
            Self::Closed,
        ]
        .into_iter()
        .find(|state| state.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_have_jeepays_numbers() {
        let pay: Vec<u8> = (0..=7)
            .filter_map(PayState::from_code)
            .map(PayState::code)
            .collect();
        assert_eq!(pay, [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(PayState::Succeeded.code(), 2);
        assert_eq!(PayState::Closed.code(), 6);
        assert_eq!(PayState::from_code(7), None);
        assert_eq!(RefundState::Succeeded.code(), 2);
        assert_eq!(RefundState::Closed.code(), 4);
        assert_eq!(RefundState::from_code(5), None);
    }
}
