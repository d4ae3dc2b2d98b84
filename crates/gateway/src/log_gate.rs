//! Log lines that anyone on the internet can cause (a callback to an unknown account, a garbled
//! body) are written the 1st, 10th, 100th… time in this process, each with its count, so a flood
//! shows in the log without filling it. The callback metrics still count every one.

use std::sync::atomic::{AtomicU64, Ordering};

/// One kind of unauthenticated log line.
pub(crate) struct LogGate(AtomicU64);

impl LogGate {
    pub(crate) const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    /// Counts one occurrence; `Some(count)` when this one should be logged.
    pub(crate) fn pass(&self) -> Option<u64> {
        let n = self.0.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        is_power_of_ten(n).then_some(n)
    }
}

/// 1, 10, 100…: the repeats worth a log line.
pub(crate) fn is_power_of_ten(n: u64) -> bool {
    let mut p = 1_u64;
    while p < n {
        p = p.saturating_mul(10);
    }
    p == n
}

/// Text from the request (a path segment) as it may appear in a log line: bounded, and printed
/// with `{:?}` by the caller so that it cannot forge lines.
pub(crate) fn bounded(text: &str) -> &str {
    match text.char_indices().nth(64) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gate_passes_the_first_and_every_power_of_ten() {
        let gate = LogGate::new();
        let passed: Vec<u64> = (0..1000).filter_map(|_| gate.pass()).collect();
        assert_eq!(passed, [1, 10, 100, 1000]);
        assert!(!is_power_of_ten(0));
    }

    #[test]
    fn request_text_is_bounded() {
        assert_eq!(bounded("1900000001"), "1900000001");
        assert_eq!(bounded(&"x".repeat(500)).len(), 64);
        assert_eq!(bounded(&"月".repeat(100)).chars().count(), 64);
    }
}
