//! Background work (notification schedule, order checks, workers): defaults per mode, values
//! from file and environment with scales, and errors naming the bad setting.

use std::time::Duration;

use super::super::*;
use super::load;

#[test]
fn background_defaults_follow_the_issue_and_the_mode() {
    let s = load(Flags::default(), &[]).unwrap();
    assert_eq!(
        s.notify.schedule,
        crate::notify::NotifySettings::default_schedule()
    );
    assert_eq!(s.notify.timeout, Duration::from_secs(10));
    assert!(
        !s.notify.allow_private_targets,
        "only a sandbox database lets every site reach loopback, and the database decides"
    );
    assert_eq!(
        s.compensation,
        crate::compensation::CompensationSettings::default()
    );
    assert_eq!(
        s.reconcile.publish_after,
        Duration::from_secs(10 * 3600),
        "WeChat Pay's bills are out at 10:00"
    );
    assert_eq!(s.workers.poll_interval, Duration::from_secs(1));
    assert_eq!(s.workers.lease, Duration::from_secs(60));
    assert_eq!(s.workers.batch, 16);
    assert!(!s.workers.node_id.is_empty());
}

#[test]
fn private_notify_targets_are_no_longer_a_global_setting() {
    // Allowed per site now (`paygate site update --allow-private-targets`): a file that still
    // allows them for every site is refused rather than silently ignored.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paygate.toml");
    std::fs::write(&file, "[notify]\nallow_private_targets = true\n").unwrap();
    let flags = Flags {
        config: Some(file),
        ..Flags::default()
    };
    let err = load(flags, &[]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::UnknownKey { key, .. } if key == "notify.allow_private_targets"),
        "{err}"
    );
}

#[test]
fn background_settings_from_file_and_environment_with_scales() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paygate.toml");
    std::fs::write(
        &file,
        "[notify]\nschedule = [\"1s\", \"2s\"]\ntimeout = \"5s\"\n\
         [compensation]\nschedule = [\"10s\", \"1m\"]\nexpiry_grace = \"1s\"\n\
         [workers]\nlease = \"30s\"\nbatch = 4\nnode_id = \"node-a\"\n",
    )
    .unwrap();
    let flags = Flags {
        config: Some(file),
        ..Flags::default()
    };
    let s = load(
        flags.clone(),
        &[
            ("PAYGATE_NOTIFY_SCHEDULE_SCALE", "0.001"),
            ("PAYGATE_COMPENSATION_SCHEDULE_SCALE", "0.5"),
            ("PAYGATE_WORKERS_POLL_INTERVAL", "50ms"),
        ],
    )
    .unwrap();
    assert_eq!(
        s.notify.schedule,
        [Duration::from_millis(1), Duration::from_millis(2)]
    );
    assert_eq!(s.notify.timeout, Duration::from_secs(5));
    assert_eq!(
        s.compensation.schedule,
        [Duration::from_secs(5), Duration::from_secs(30)]
    );
    assert_eq!(s.compensation.expiry_grace, Duration::from_secs(1));
    assert_eq!(s.workers.poll_interval, Duration::from_millis(50));
    assert_eq!(s.workers.lease, Duration::from_secs(30));
    assert_eq!(s.workers.batch, 4);
    assert_eq!(s.workers.node_id, "node-a");

    let s = load(flags, &[("PAYGATE_NOTIFY_SCHEDULE", "15s, 3m,6h")]).unwrap();
    assert_eq!(
        s.notify.schedule,
        [
            Duration::from_secs(15),
            Duration::from_secs(180),
            Duration::from_secs(6 * 3600)
        ]
    );
}

#[test]
fn bad_background_settings_name_themselves() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("PAYGATE_NOTIFY_SCHEDULE", ",")], "notify.schedule"),
        (
            &[("PAYGATE_NOTIFY_SCHEDULE", "15s,soon")],
            "notify.schedule",
        ),
        (
            &[("PAYGATE_NOTIFY_SCHEDULE_SCALE", "0")],
            "notify.schedule_scale",
        ),
        (
            &[("PAYGATE_NOTIFY_SCHEDULE_SCALE", "x")],
            "notify.schedule_scale",
        ),
        (&[("PAYGATE_NOTIFY_TIMEOUT", "10")], "notify.timeout"),
        (
            &[("PAYGATE_COMPENSATION_SCHEDULE", ",")],
            "compensation.schedule",
        ),
        (
            &[("PAYGATE_COMPENSATION_SCHEDULE", "1m,0s")],
            "compensation.schedule",
        ),
        (
            &[("PAYGATE_COMPENSATION_SCHEDULE_SCALE", "-1")],
            "compensation.schedule_scale",
        ),
        (
            &[("PAYGATE_WORKERS_POLL_INTERVAL", "0ms")],
            "workers.poll_interval",
        ),
        (&[("PAYGATE_WORKERS_LEASE", "5s")], "workers.lease"),
        (
            &[
                ("PAYGATE_NOTIFY_TIMEOUT", "2m"),
                ("PAYGATE_WORKERS_LEASE", "1m"),
            ],
            "workers.lease",
        ),
        (&[("PAYGATE_WORKERS_BATCH", "0")], "workers.batch"),
    ];
    for (env, setting) in cases {
        let err = load(Flags::default(), env).unwrap_err().to_string();
        assert!(err.contains(setting), "{env:?}: {err}");
        assert!(err.contains("PAYGATE_"), "names the origin: {err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(&file, "[workers]\nleases = \"1m\"\n").unwrap();
    let err = load(
        Flags {
            config: Some(file),
            ..Flags::default()
        },
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("workers.leases"), "{err}");
}

#[test]
fn the_hour_bills_are_asked_for_comes_from_file_or_environment_and_stays_within_two_days() {
    let s = load(
        Flags::default(),
        &[("PAYGATE_RECONCILE_PUBLISH_AFTER", "12h")],
    )
    .unwrap();
    assert_eq!(s.reconcile.publish_after, Duration::from_secs(12 * 3600));
    let err = load(
        Flags::default(),
        &[("PAYGATE_RECONCILE_PUBLISH_AFTER", "3d")],
    )
    .unwrap_err();
    assert!(err.to_string().contains("reconcile.publish_after"), "{err}");
    let err = load(
        Flags::default(),
        &[("PAYGATE_RECONCILE_PUBLISH_AFTER", "soon")],
    )
    .unwrap_err();
    assert!(err.to_string().contains("reconcile.publish_after"), "{err}");
}
