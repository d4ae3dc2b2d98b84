//! Where a setting comes from: the defaults, flags over environment over file, and errors that
//! name the setting and its origin.

use super::super::*;
use super::load;

#[test]
fn defaults_are_sandbox_on_sqlite_in_data_dir() {
    let s = load(Flags::default(), &[]).unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(s.data_dir, PathBuf::from("./data"));
    assert_eq!(
        s.database_url.expose(),
        "sqlite://./data/paygate.db?mode=rwc"
    );
    assert_eq!(s.public_url(s.listen), "http://127.0.0.1:8080");
    assert_eq!(s.requested_mode(), Requested::Sandbox { explicit: false });
    assert!(matches!(s.master_key, MasterKeySource::File(ref p) if p.ends_with("master.key")));
}

#[test]
fn flags_beat_environment_which_beats_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paygate.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:1\"\ndata_dir = \"d\"\npublic_url = \"https://pay.example.com/\"\n",
    )
    .unwrap();
    let flags = Flags {
        config: Some(file.clone()),
        ..Flags::default()
    };
    let s = load(flags.clone(), &[]).unwrap();
    assert_eq!(s.listen.port(), 1);
    assert_eq!(s.data_dir, dir.path().join("d"), "relative to the file");
    assert_eq!(s.public_url(s.listen), "https://pay.example.com");
    let s = load(flags.clone(), &[("PAYGATE_LISTEN", "127.0.0.1:2")]).unwrap();
    assert_eq!(s.listen.port(), 2);
    let s = load(
        Flags {
            listen: Some("127.0.0.1:3".into()),
            database_url: Some("postgres://u:hunter2-secret@h/db".into()),
            ..flags
        },
        &[("PAYGATE_LISTEN", "127.0.0.1:2")],
    )
    .unwrap();
    assert_eq!(s.listen.port(), 3);
    assert!(!s.database_url.is_sqlite());
    // A password no temp dir's random name can hold by chance.
    assert!(
        !format!("{s:?}").contains("hunter2-secret"),
        "password in Debug"
    );
    let s = load(
        Flags::default(),
        &[("PAYGATE_CONFIG", file.to_str().unwrap())],
    )
    .unwrap();
    assert_eq!(s.listen.port(), 1);
}

#[test]
fn errors_name_the_setting_and_its_origin() {
    let err = load(
        Flags {
            listen: Some("nope".into()),
            ..Flags::default()
        },
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("`listen`") && err.contains("--listen"),
        "{err}"
    );

    let err = load(
        Flags::default(),
        &[("PAYGATE_DATABASE_URL", "mysql://u:hunter2-secret@h/db")],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("database_url") && err.contains("PAYGATE_DATABASE_URL"));
    assert!(!err.contains("hunter2-secret"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(&file, "[wechat]\nmchidd = \"1\"\n").unwrap();
    let err = load(
        Flags {
            config: Some(file),
            ..Flags::default()
        },
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("wechat.mchidd"), "{err}");
}

#[test]
fn every_setting_of_the_example_config_is_one_paygate_knows() {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../paygate.example.toml");
    let flags = Flags {
        config: Some(example),
        ..Flags::default()
    };
    // Its key files are the operator's to provide; every key and section must still be known.
    match load(flags, &[]) {
        Ok(_) => {}
        Err(e @ (ConfigError::UnknownKey { .. } | ConfigError::Syntax { .. })) => {
            panic!("paygate.example.toml: {e}")
        }
        Err(_) => {}
    }
}
