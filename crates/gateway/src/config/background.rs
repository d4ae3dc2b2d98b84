//! `[notify]`, `[compensation]`, `[reconcile]` and `[workers]`: the background work's schedules and knobs. The
//! `schedule_scale` factors are applied here, once, so the rest of paygate only sees final
//! schedules (tests run with `0.001`: 15 s becomes 15 ms).

use super::ConfigError;
use super::raw::Raw;
use crate::compensation::{CompensationSettings, InvalidSchedule};
use crate::notify::NotifySettings;
use crate::reconcile::ReconcileSettings;
use crate::workers::WorkerSettings;

/// `[notify]`. Whether every site may reach private targets is not a setting: the database's mode
/// decides (sandbox: yes), once it is known (`app::build`); elsewhere the operator allows it per site
/// (`paygate site update SITE_ID --allow-private-targets true`).
pub(crate) fn notify(raw: &Raw) -> Result<NotifySettings, ConfigError> {
    let defaults = NotifySettings::default();
    let schedule = match raw.duration_list("notify.schedule")? {
        Some(s) if s.is_empty() => {
            return Err(raw.invalid("notify.schedule", "must list at least one retry interval"));
        }
        Some(s) => s,
        None => defaults.schedule,
    };
    let scale = scale(raw, "notify.schedule_scale")?;
    let timeout = raw.duration("notify.timeout")?.unwrap_or(defaults.timeout);
    if timeout.is_zero() {
        return Err(raw.invalid("notify.timeout", "must be longer than zero"));
    }
    Ok(NotifySettings {
        schedule,
        timeout,
        allow_private_targets: false,
        excerpt_limit: defaults.excerpt_limit,
    }
    .scaled(scale))
}

/// `[reconcile]`: when each day's bills are asked for.
pub(crate) fn reconcile(raw: &Raw) -> Result<ReconcileSettings, ConfigError> {
    let defaults = ReconcileSettings::default();
    let publish_after = raw
        .duration("reconcile.publish_after")?
        .unwrap_or(defaults.publish_after);
    // Past two days the chain of days would ask for a bill more than a day late every day.
    if publish_after > std::time::Duration::from_secs(48 * 3600) {
        return Err(raw.invalid(
            "reconcile.publish_after",
            "must be at most 48h after the day's end",
        ));
    }
    Ok(ReconcileSettings { publish_after })
}

/// `[compensation]`.
pub(crate) fn compensation(raw: &Raw) -> Result<CompensationSettings, ConfigError> {
    let defaults = CompensationSettings::default();
    let given = raw.duration_list("compensation.schedule")?;
    let schedule = given.clone().unwrap_or(defaults.schedule);
    let scale = scale(raw, "compensation.schedule_scale")?;
    let expiry_grace = raw
        .duration("compensation.expiry_grace")?
        .unwrap_or(defaults.expiry_grace);
    let settings = CompensationSettings {
        schedule: schedule.iter().map(|d| d.mul_f64(scale)).collect(),
        expiry_grace,
    };
    settings.checked().map_err(|e| match e {
        InvalidSchedule::Empty => raw.invalid(
            "compensation.schedule",
            "must list at least one check interval",
        ),
        // A zero step would query the channel in a tight loop. Blame the scale when it was the
        // scale that rounded a real interval down to nothing.
        InvalidSchedule::ZeroStep(i) => {
            if schedule.get(i).is_some_and(|d| !d.is_zero()) {
                raw.invalid(
                    "compensation.schedule_scale",
                    format!("makes check interval {} zero", i + 1),
                )
            } else {
                raw.invalid(
                    "compensation.schedule",
                    format!("interval {} is zero", i + 1),
                )
            }
        }
    })
}

/// `[workers]`. The lease must outlast a notification attempt (`notify.timeout`), or another node
/// could take a job over while its attempt is still waiting for the site.
pub(crate) fn workers(raw: &Raw, notify: &NotifySettings) -> Result<WorkerSettings, ConfigError> {
    // Its node id is `default_node_id()`: unique per process, so that two processes never share
    // leases.
    let defaults = WorkerSettings::default();
    let poll_interval = raw
        .duration("workers.poll_interval")?
        .unwrap_or(defaults.poll_interval);
    if poll_interval.is_zero() {
        return Err(raw.invalid("workers.poll_interval", "must be longer than zero"));
    }
    let lease = raw.duration("workers.lease")?.unwrap_or(defaults.lease);
    if lease <= notify.timeout {
        return Err(raw.invalid(
            "workers.lease",
            "must be longer than notify.timeout (a job must outlast its notification attempt)",
        ));
    }
    let batch = raw.u32("workers.batch")?.unwrap_or(defaults.batch);
    if batch == 0 {
        return Err(raw.invalid("workers.batch", "must be at least 1"));
    }
    let node_id = match raw.text("workers.node_id")? {
        Some(id) if id.len() > 128 || id.chars().any(char::is_control) => {
            return Err(raw.invalid(
                "workers.node_id",
                "must be at most 128 printable characters",
            ));
        }
        Some(id) => id,
        None => defaults.node_id,
    };
    Ok(WorkerSettings {
        poll_interval,
        lease,
        batch,
        node_id,
    })
}

fn scale(raw: &Raw, name: &'static str) -> Result<f64, ConfigError> {
    let scale = raw.float(name)?.unwrap_or(1.0);
    if scale <= 0.0 {
        return Err(raw.invalid(name, "must be greater than zero"));
    }
    Ok(scale)
}
