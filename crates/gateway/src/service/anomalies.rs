//! Anomalies: what a human should look at (a mismatched payment, a callback that failed
//! verification, news about an order paygate does not have). Recorded in `anomalies`, counted in
//! `paygate_anomalies_total{kind,channel}` and logged; never fatal to the caller.

use sha2::{Digest, Sha256};

use crate::domain::{AnomalyKind, Channel, OrderId, Timestamp};
use crate::log_gate::is_power_of_ten;
use crate::store::NewAnomaly;

use super::OrderService;

/// Anomaly details are free text shown to operators; keep them short whatever a caller passes.
const DETAIL_LIMIT: usize = 500;

impl OrderService {
    /// Records an anomaly, counts it and logs it. The same anomaly again (same kind, channel,
    /// order and detail) is counted on its first row. Never fails: the caller is already refusing
    /// something, and a failure to record must not turn that refusal into an acceptance; the log
    /// line and the metric still carry it.
    pub async fn report_anomaly(
        &self,
        kind: AnomalyKind,
        channel: Channel,
        order: Option<OrderId>,
        detail: String,
    ) {
        let detail = bounded(detail);
        let digest = hex::encode(Sha256::digest(detail.as_bytes()));
        let key = format!(
            "{}:{}:{}:{digest}",
            kind.as_str(),
            channel.as_str(),
            order.map_or_else(|| "-".to_owned(), |o| o.as_i64().to_string()),
        );
        self.report_counted_anomaly(kind, channel, order, key, detail)
            .await;
    }

    /// Like [`OrderService::report_anomaly`], counted on the row of `dedupe_key` (which should
    /// start with the kind): for anomalies whose "same" is not their text, such as unverified
    /// callbacks from one source within one window. Logged at WARN the first time and at each
    /// power of ten (10th, 100th…), so a flood shows in the log without filling it.
    pub async fn report_counted_anomaly(
        &self,
        kind: AnomalyKind,
        channel: Channel,
        order: Option<OrderId>,
        dedupe_key: String,
        detail: String,
    ) {
        let detail = bounded(detail);
        metrics::counter!(
            "paygate_anomalies_total",
            "kind" => kind.as_str(),
            "channel" => channel.as_str(),
        )
        .increment(1);
        let anomaly = NewAnomaly {
            kind,
            channel,
            order_id: order,
            dedupe_key,
            detail,
            at: Timestamp::now(),
        };
        let occurrences = match self.store.record_anomaly(&anomaly).await {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::error!(kind = kind.as_str(), error = %e, "could not record an anomaly");
                None
            }
        };
        let loud = occurrences.is_none_or(|n| u64::try_from(n).is_ok_and(is_power_of_ten));
        let order = order.map(OrderId::as_i64);
        if loud {
            tracing::warn!(kind = kind.as_str(), channel = channel.as_str(), order, occurrences, detail = %anomaly.detail, "anomaly");
        } else {
            tracing::debug!(
                kind = kind.as_str(),
                channel = channel.as_str(),
                order,
                occurrences,
                "anomaly repeated"
            );
        }
    }
}

fn bounded(mut detail: String) -> String {
    if detail.len() > DETAIL_LIMIT {
        let mut end = DETAIL_LIMIT;
        while !detail.is_char_boundary(end) {
            end -= 1;
        }
        detail.truncate(end);
        detail.push('…');
    }
    detail
}
