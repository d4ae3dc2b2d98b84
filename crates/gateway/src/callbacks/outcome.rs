//! What became of one callback: counted, and turned into the channel's answer.

use axum::http::StatusCode;

use crate::channels::Reply;
use crate::domain::Channel;

/// The `outcome` label of `paygate_callbacks_total`, and whether the channel is told the callback
/// was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The order changed.
    Applied,
    /// Verified and consistent, but nothing to change (a duplicate, or the order is past it).
    Unchanged,
    /// Verified, about something paygate does not act on (refunds, waiting for the buyer).
    Ignored,
    /// The signature (or timestamp, key id) did not verify.
    Unverified,
    /// Signed by the channel, but paygate cannot decrypt it (its APIv3 key is wrong).
    Undecryptable,
    /// Verified, but it contradicts the order (amount, merchant, app), or the channel's answer to
    /// a query does not confirm it.
    Refused,
    /// Verified, but not confirmed yet: the query to confirm it failed, or one was made moments
    /// ago. The channel retries, and the order's check asks meanwhile.
    Deferred,
    /// Verified, about an order paygate does not have.
    UnknownOrder,
    /// Not a well-formed notification.
    Invalid,
    /// Addressed to an account paygate does not have (path, or the channel is not configured).
    NotOurs,
    /// paygate could not handle it (database): the channel should retry.
    Error,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Unchanged => "unchanged",
            Self::Ignored => "ignored",
            Self::Unverified => "unverified",
            Self::Undecryptable => "undecryptable",
            Self::Refused => "refused",
            Self::Deferred => "deferred",
            Self::UnknownOrder => "unknown_order",
            Self::Invalid => "invalid",
            Self::NotOurs => "not_ours",
            Self::Error => "error",
        }
    }

    /// The HTTP status of the answer. Channels only look at success or failure (and Alipay at the
    /// body); the status is for logs and people. A 5xx for paygate's own failures keeps the channel
    /// retrying until the operator fixes them.
    fn status(self) -> StatusCode {
        match self {
            Self::Applied | Self::Unchanged | Self::Ignored => StatusCode::OK,
            Self::Unverified => StatusCode::UNAUTHORIZED,
            Self::Refused | Self::Invalid => StatusCode::BAD_REQUEST,
            Self::UnknownOrder | Self::NotOurs => StatusCode::NOT_FOUND,
            Self::Deferred => StatusCode::SERVICE_UNAVAILABLE,
            Self::Undecryptable | Self::Error => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether the channel is told "received" (and stops retrying).
    fn accepted(self) -> bool {
        match self {
            Self::Applied | Self::Unchanged | Self::Ignored => true,
            Self::Unverified
            | Self::Undecryptable
            | Self::Refused
            | Self::Deferred
            | Self::UnknownOrder
            | Self::Invalid
            | Self::NotOurs
            | Self::Error => false,
        }
    }
}

/// An outcome and, for a failure, the message the channel gets (never a secret or a detail that
/// would help a forger).
#[derive(Debug, Clone, Copy)]
pub(super) struct Answer {
    pub(super) outcome: Outcome,
    message: &'static str,
}

impl Answer {
    pub(super) const fn ok(outcome: Outcome) -> Self {
        Self {
            outcome,
            message: "",
        }
    }

    pub(super) const fn fail(outcome: Outcome, message: &'static str) -> Self {
        Self { outcome, message }
    }

    /// The failure answer for verified news that contradicts its order.
    pub(super) const fn mismatch() -> Self {
        Self::fail(
            Outcome::Refused,
            "the notification does not match the order",
        )
    }

    /// Of two answers to one callback, the one it is answered with: a failure over a success (the
    /// channel retries the whole callback), else the first.
    pub(super) fn worse(first: Self, second: Self) -> Self {
        if first.outcome.accepted() && !second.outcome.accepted() {
            second
        } else {
            first
        }
    }

    /// The failure answer for paygate's own trouble: the channel retries.
    pub(super) const fn error() -> Self {
        Self::fail(Outcome::Error, "internal error, retry later")
    }

    /// Counts the callback for `/metrics` and says what the channel is answered.
    pub(super) fn reply(self, channel: Channel) -> Reply {
        metrics::counter!(
            "paygate_callbacks_total",
            "channel" => channel.as_str(),
            "outcome" => self.outcome.as_str(),
        )
        .increment(1);
        Reply {
            status: self.outcome.status(),
            accepted: self.outcome.accepted(),
            message: self.message,
        }
    }
}
