//! Verified news that one of paygate's splits paid a receiver (WeChat Pay's
//! `PROFITSHARING.SUCCESS`, which reaches paygate as the receiver of the operator's fee). The news
//! itself changes nothing: the split is asked about at once, and what the channel answers ends it,
//! as the split's check job would a while later.

use crate::domain::{SplitStatus, UpstreamSplitNo};
use crate::service::ServiceError;

use super::State;
use super::outcome::{Answer, Outcome};

pub(super) async fn handle(state: &State, upstream_split_no: &str) -> Answer {
    // A number paygate never makes is no split of paygate's: the operator's merchant may receive
    // shares of other merchants' splits too.
    let Ok(no) = UpstreamSplitNo::parse(upstream_split_no) else {
        return Answer::ok(Outcome::Ignored);
    };
    match state.orders.split_news(&no).await {
        Ok(Some(split)) if split.status != SplitStatus::Processing => Answer::ok(Outcome::Applied),
        Ok(Some(_)) => Answer::ok(Outcome::Unchanged),
        Ok(None) => Answer::ok(Outcome::Ignored),
        // The channel could not be asked: its retry, or the split's check job, will.
        Err(ServiceError::UpstreamUnknown { .. }) => {
            Answer::fail(Outcome::Deferred, "the split could not be confirmed yet")
        }
        Err(e) => {
            tracing::error!(split = upstream_split_no, error = %e, "split news: could not apply");
            Answer::error()
        }
    }
}
