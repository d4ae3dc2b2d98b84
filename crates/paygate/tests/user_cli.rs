//! The operator's user commands (`paygate user create | list | disable | reset-password`) from a
//! clean data dir: one-line errors with exit status 1, and never a password or a hash in what they
//! print or store in clear.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write as _;
use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::{Value, json};
use support::serve::{create_site, ok_json, paygate_command, paygate_run};

const PASSWORD: &str = "correct horse battery staple";

/// `paygate user ARGS… --data-dir DATA` with `stdin` piped in.
fn user(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = paygate_command()
        .arg("user")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run paygate");
    let written = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    // A mistake is refused before the password is read, and the command may be gone already.
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

/// Failed with exit status 1 and one line on stderr holding `needle`.
fn fails_with(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(needle), "{stderr}");
    let lines: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
}

fn no_secret_in(out: &Output, secrets: &[&str]) {
    for text in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(text);
        for secret in secrets {
            assert!(!text.contains(secret), "{secret:?} printed: {text}");
        }
        assert!(!text.contains("$argon2"), "a hash printed: {text}");
    }
}

#[test]
fn the_operator_creates_lists_disables_and_resets_users_from_a_clean_data_dir() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let site = create_site(&data, "shop");

    let stdin = format!("{PASSWORD}\n");
    let admin = user(
        &data,
        &[
            "create",
            "--email",
            "Ops@Example.com",
            "--role",
            "admin",
            "--password-stdin",
            "--json",
        ],
        &stdin,
    );
    no_secret_in(&admin, &[PASSWORD]);
    let admin = ok_json(&admin);
    assert_eq!(admin["email"], "ops@example.com");
    assert_eq!(admin["role"], "admin");
    assert_eq!(admin["site_id"], Value::Null);

    let merchant = user(
        &data,
        &[
            "create",
            "--email",
            "shop@example.com",
            "--role",
            "site",
            "--site",
            &site.site_id,
            "--password-stdin",
            "--json",
        ],
        &stdin,
    );
    assert_eq!(ok_json(&merchant)["site_id"], json!(site.site_id));

    let list = user(&data, &["list", "--json"], "");
    no_secret_in(&list, &[PASSWORD]);
    let emails: Vec<_> = ok_json(&list)
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].clone())
        .collect();
    assert_eq!(
        emails,
        [json!("ops@example.com"), json!("shop@example.com")]
    );
    let text = String::from_utf8(user(&data, &["list"], "").stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("\tops@example.com\tadmin\t-\tactive")),
        "{text}"
    );

    let reset = user(
        &data,
        &["reset-password", "OPS@example.com", "--password-stdin"],
        "a brand new passphrase\n",
    );
    assert!(
        reset.status.success(),
        "{}",
        String::from_utf8_lossy(&reset.stderr)
    );
    no_secret_in(&reset, &[PASSWORD, "a brand new passphrase"]);

    let disabled = ok_json(&user(&data, &["disable", "shop@example.com", "--json"], ""));
    assert_eq!(disabled["disabled"], true);

    // The database holds hashes, never the passwords.
    let db = std::fs::read(data.join("paygate.db")).unwrap();
    let wal = std::fs::read(data.join("paygate.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        for secret in [PASSWORD, "a brand new passphrase"] {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
        }
    }
}

#[test]
fn mistakes_are_one_line_errors_with_exit_status_1() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let stdin = format!("{PASSWORD}\n");
    let create = |email: &str, role: &[&str], stdin: &str| {
        let mut args = vec!["create", "--email", email, "--password-stdin"];
        args.extend_from_slice(role);
        user(&data, &args, stdin)
    };
    assert!(
        create("ops@example.com", &["--role", "admin"], &stdin)
            .status
            .success()
    );
    fails_with(
        &create("OPS@example.com", &["--role", "viewer"], &stdin),
        "already exists",
    );
    fails_with(
        &create("shop@example.com", &["--role", "site"], &stdin),
        "a site user needs a site",
    );
    fails_with(
        &create(
            "shop@example.com",
            &["--role", "site", "--site", "site_nosuchsite"],
            &stdin,
        ),
        "no such site",
    );
    fails_with(
        &create(
            "viewer@example.com",
            &["--role", "viewer", "--site", "site_x"],
            &stdin,
        ),
        "a site user needs a site",
    );
    fails_with(
        &create("not-an-email", &["--role", "admin"], &stdin),
        "email",
    );
    let short = create("short@example.com", &["--role", "admin"], "hunter2\n");
    fails_with(&short, "10-1024 characters");
    no_secret_in(&short, &["hunter2"]);
    // No terminal to prompt on, and no --password-stdin.
    let prompt = paygate_run(
        &[
            "user",
            "create",
            "--email",
            "tty@example.com",
            "--role",
            "admin",
        ],
        &data,
    );
    fails_with(&prompt, "--password-stdin");
    fails_with(
        &user(&data, &["disable", "nobody@example.com"], ""),
        "no such user",
    );
    fails_with(
        &user(
            &data,
            &["reset-password", "nobody@example.com", "--password-stdin"],
            &stdin,
        ),
        "no such user",
    );
}
