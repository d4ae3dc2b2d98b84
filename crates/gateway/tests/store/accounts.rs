// Helpers outside `#[test]` functions: a failure there is the test failing, so unwrap is right.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use gateway::crypto::MasterKey;
use gateway::domain::{
    Actor, AuditAction, AuditEntry, Email, PasswordHash, Role, SecretKey, SessionToken, SiteId,
    Timestamp, TotpSecret, User, UserId,
};
use gateway::store::{FailedLogin, KeyShown, NewSession, NewUser, Store, StoreError};

use crate::on_both_backends;
use crate::support::{TestDb, new_site};

const MINUTE: Duration = Duration::from_secs(60);

fn at(minutes: i64) -> Timestamp {
    Timestamp::from_millis(1_700_000_000_000 + minutes * 60_000)
}

fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

fn hash(s: &str) -> PasswordHash {
    PasswordHash::from_phc(format!("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ${s}"))
}

fn audit(action: AuditAction) -> AuditEntry {
    AuditEntry::new(at(0), Actor::Cli, action)
}

async fn user(store: &Store, address: &str, role: Role) -> User {
    let new = NewUser {
        email: email(address),
        role,
        password_hash: hash("first"),
    };
    store
        .create_user(&new, at(0), &audit(AuditAction::UserCreate))
        .await
        .unwrap()
}

fn failed<'a>(user: Option<&'a UserId>, ip: Option<&'a str>, now: Timestamp) -> FailedLogin<'a> {
    FailedLogin {
        user,
        ip,
        at: now,
        account_limit: 10,
        lock_for: 15 * MINUTE,
        ip_window: 15 * MINUTE,
    }
}

async fn start(store: &Store, user: &User, token: &SessionToken, now: Timestamp) -> bool {
    let new = NewSession {
        token,
        user_id: &user.id,
        verified_hash: &hash("first"),
        csrf_token: "csrf",
        ip: Some("192.0.2.1"),
        at: now,
        expires_at: now.plus(Duration::from_secs(12 * 3600)),
        replaces: None,
    };
    store
        .start_session(&new, &audit(AuditAction::Login))
        .await
        .unwrap()
}

on_both_backends! {
    async fn a_user_is_found_by_id_and_by_email_in_any_case(db: TestDb) {
        let created = user(&db.store, "Ops@Example.com", Role::Admin).await;
        assert_eq!(created.email.as_str(), "ops@example.com");
        let by_id = db.store.find_user(&created.id).await.unwrap().unwrap();
        assert_eq!(by_id, created);
        let by_email = db.store.find_user_by_email(&email("OPS@example.COM")).await.unwrap();
        assert_eq!(by_email.unwrap().id, created.id);
        let credentials = db.store.credentials(&email("ops@example.com")).await.unwrap().unwrap();
        assert_eq!(credentials.password_hash, hash("first"));
        assert!(credentials.totp.is_none() && credentials.locked_until.is_none());
        assert!(db.store.find_user(&UserId::generate()).await.unwrap().is_none());
        assert_eq!(db.store.list_users().await.unwrap(), [created]);
    }

    async fn an_email_differing_only_by_case_is_taken(db: TestDb) {
        user(&db.store, "ops@example.com", Role::Admin).await;
        let again = NewUser {
            email: email("OPS@EXAMPLE.COM"),
            role: Role::Viewer,
            password_hash: hash("other"),
        };
        let err = db.store.create_user(&again, at(1), &audit(AuditAction::UserCreate)).await;
        assert!(matches!(err, Err(StoreError::Taken("email"))), "{err:?}");
        assert_eq!(db.count("SELECT COUNT(*) FROM users").await, 1);
        assert_eq!(db.count("SELECT COUNT(*) FROM audit_log").await, 1, "no entry for the refusal");
    }

    async fn a_site_user_belongs_to_an_existing_site(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let member = user(&db.store, "shop@example.com", Role::Site(site.id.clone())).await;
        let found = db.store.find_user(&member.id).await.unwrap().unwrap();
        assert_eq!(found.role, Role::Site(site.id));
        let orphan = NewUser {
            email: email("ghost@example.com"),
            role: Role::Site(SiteId::generate()),
            password_hash: hash("x"),
        };
        let err = db.store.create_user(&orphan, at(0), &audit(AuditAction::UserCreate)).await;
        assert!(matches!(err, Err(StoreError::NotFound("site"))), "{err:?}");
        // The table refuses what the type cannot express, should anything write it raw.
        let raw = db.try_execute("INSERT INTO users (id, email, role, site_id, password_hash, \
            created_at, updated_at) VALUES ('usr_raw', 'raw@example.com', 'site', NULL, 'h', 0, 0)").await;
        assert!(raw.is_err());
    }

    async fn creating_a_user_writes_its_audit_entry(db: TestDb) {
        let created = user(&db.store, "ops@example.com", Role::Admin).await;
        let log = db.store.list_audit(10).await.unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].action, "user.create");
        assert_eq!(log[0].object_kind.as_deref(), Some("user"));
        assert_eq!(log[0].object_id.as_deref(), Some(created.id.as_str()));
        assert_eq!(log[0].actor_user_id, None, "the command line");
    }

    async fn the_tenth_failure_in_a_row_locks_the_account_and_restarts_its_count(db: TestDb) {
        let ops = user(&db.store, "ops@example.com", Role::Admin).await;
        let entry = audit(AuditAction::LoginFailed);
        for i in 0..9 {
            let counts = db.store.record_failed_login(&failed(Some(&ops.id), None, at(i)), &entry).await.unwrap();
            assert_eq!(counts.locked_until, None, "failure {}", i + 1);
        }
        let counts = db.store.record_failed_login(&failed(Some(&ops.id), None, at(9)), &entry).await.unwrap();
        assert_eq!(counts.locked_until, Some(at(9).plus(15 * MINUTE)));
        let credentials = db.store.credentials(&ops.email).await.unwrap().unwrap();
        assert_eq!(credentials.locked_until, Some(at(24)));
        assert_eq!(db.count("SELECT failed_logins FROM users").await, 0);
        assert_eq!(db.count("SELECT COUNT(*) FROM audit_log WHERE action = 'login.failed'").await, 10);
    }

    async fn concurrent_failures_are_each_counted(db: TestDb) {
        let ops = user(&db.store, "ops@example.com", Role::Admin).await;
        let tasks: Vec<_> = (0..8).map(|_| {
            let (store, id) = (db.store.clone(), ops.id.clone());
            tokio::spawn(async move {
                let entry = audit(AuditAction::LoginFailed);
                store.record_failed_login(&failed(Some(&id), Some("198.51.100.7"), at(0)), &entry).await.unwrap()
            })
        }).collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(db.count("SELECT failed_logins FROM users").await, 8);
        assert_eq!(db.store.ip_failures("198.51.100.7", at(1), 15 * MINUTE).await.unwrap(), 8);
    }

    async fn an_address_count_starts_again_after_its_window(db: TestDb) {
        let entry = audit(AuditAction::LoginFailed);
        let ip = Some("203.0.113.9");
        for _ in 0..3 {
            db.store.record_failed_login(&failed(None, ip, at(0)), &entry).await.unwrap();
        }
        assert_eq!(db.store.ip_failures("203.0.113.9", at(14), 15 * MINUTE).await.unwrap(), 3);
        assert_eq!(db.store.ip_failures("203.0.113.9", at(15), 15 * MINUTE).await.unwrap(), 0);
        assert_eq!(db.store.ip_failures("203.0.113.10", at(0), 15 * MINUTE).await.unwrap(), 0);
        let counts = db.store.record_failed_login(&failed(None, ip, at(16)), &entry).await.unwrap();
        assert_eq!(counts.ip_failures, 1);
    }

    async fn a_session_is_found_by_its_token_and_the_table_holds_only_its_hash(db: TestDb) {
        let ops = user(&db.store, "ops@example.com", Role::Admin).await;
        let token = SessionToken::generate();
        assert!(start(&db.store, &ops, &token, at(0)).await);
        let session = db.store.touch_session(&token, at(5), 30 * MINUTE).await.unwrap().unwrap();
        assert_eq!(session.user_id, ops.id);
        assert_eq!(session.last_seen_at, at(5));
        assert_eq!(session.csrf_token, "csrf");
        assert_eq!(db.count(&format!(
            "SELECT COUNT(*) FROM sessions WHERE token_hash = '{}'", token.hash())).await, 1);
        assert_eq!(db.count(&format!(
            "SELECT COUNT(*) FROM sessions WHERE token_hash = '{}'", token.expose())).await, 0);
        assert!(db.store.touch_session(&SessionToken::generate(), at(5), 30 * MINUTE).await.unwrap().is_none());
    }

    async fn a_session_ends_when_idle_or_at_its_absolute_expiry(db: TestDb) {
        let ops = user(&db.store, "ops@example.com", Role::Admin).await;
        let idle = SessionToken::generate();
        assert!(start(&db.store, &ops, &idle, at(0)).await);
        assert!(db.store.touch_session(&idle, at(29), 30 * MINUTE).await.unwrap().is_some());
        assert!(db.store.touch_session(&idle, at(59), 30 * MINUTE).await.unwrap().is_none(), "idle 30 min");
        let busy = SessionToken::generate();
        assert!(start(&db.store, &ops, &busy, at(0)).await);
        for step in 1..24 {
            assert!(db.store.touch_session(&busy, at(step * 29), 30 * MINUTE).await.unwrap().is_some());
        }
        assert!(db.store.touch_session(&busy, at(12 * 60), 30 * MINUTE).await.unwrap().is_none(), "12 h");
        assert_eq!(db.store.purge_sessions(at(12 * 60), 30 * MINUTE).await.unwrap(), 2);
    }

    async fn no_session_starts_for_a_locked_disabled_or_reset_user(db: TestDb) {
        let ops = user(&db.store, "ops@example.com", Role::Admin).await;
        let entry = audit(AuditAction::LoginFailed);
        for _ in 0..10 {
            db.store.record_failed_login(&failed(Some(&ops.id), None, at(0)), &entry).await.unwrap();
        }
        assert!(!start(&db.store, &ops, &SessionToken::generate(), at(14)).await, "locked");
        assert!(start(&db.store, &ops, &SessionToken::generate(), at(15)).await, "lock over");
        db.store.set_password(&ops.id, &hash("second"), at(16), &audit(AuditAction::UserResetPassword)).await.unwrap();
        assert!(!start(&db.store, &ops, &SessionToken::generate(), at(16)).await, "verified the old hash");
        db.store.disable_user(&ops.id, at(17), &audit(AuditAction::UserDisable)).await.unwrap();
        let new = NewSession {
            token: &SessionToken::generate(),
            user_id: &ops.id,
            verified_hash: &hash("second"),
            csrf_token: "csrf",
            ip: None,
            at: at(18),
            expires_at: at(600),
            replaces: None,
        };
        assert!(!db.store.start_session(&new, &audit(AuditAction::Login)).await.unwrap(), "disabled");
    }

    async fn disabling_or_resetting_a_user_ends_their_sessions_and_only_theirs(db: TestDb) {
        let ops = user(&db.store, "ops@example.com", Role::Admin).await;
        let other = user(&db.store, "viewer@example.com", Role::Viewer).await;
        let (a, b) = (SessionToken::generate(), SessionToken::generate());
        assert!(start(&db.store, &ops, &a, at(0)).await);
        assert!(start(&db.store, &other, &b, at(0)).await);
        db.store.set_password(&ops.id, &hash("second"), at(1), &audit(AuditAction::UserResetPassword)).await.unwrap();
        assert!(db.store.touch_session(&a, at(2), 30 * MINUTE).await.unwrap().is_none());
        assert!(db.store.touch_session(&b, at(2), 30 * MINUTE).await.unwrap().is_some());
        db.store.disable_user(&other.id, at(3), &audit(AuditAction::UserDisable)).await.unwrap();
        assert!(db.store.touch_session(&b, at(3), 30 * MINUTE).await.unwrap().is_none());
        assert!(db.store.find_user(&other.id).await.unwrap().unwrap().disabled);
        let unknown = db.store.disable_user(&UserId::generate(), at(4), &audit(AuditAction::UserDisable)).await;
        assert!(matches!(unknown, Err(StoreError::NotFound("user"))));
    }

    async fn a_session_stops_working_once_its_user_is_disabled_even_if_left_in_the_table(db: TestDb) {
        let ops = user(&db.store, "ops@example.com", Role::Admin).await;
        let token = SessionToken::generate();
        assert!(start(&db.store, &ops, &token, at(0)).await);
        db.execute("UPDATE users SET disabled = 1").await;
        assert!(db.store.touch_session(&token, at(1), 30 * MINUTE).await.unwrap().is_none());
    }

    async fn ending_a_session_and_replacing_one_at_login(db: TestDb) {
        let ops = user(&db.store, "ops@example.com", Role::Admin).await;
        let first = SessionToken::generate();
        assert!(start(&db.store, &ops, &first, at(0)).await);
        let second = SessionToken::generate();
        let new = NewSession {
            token: &second,
            user_id: &ops.id,
            verified_hash: &hash("first"),
            csrf_token: "csrf2",
            ip: None,
            at: at(1),
            expires_at: at(600),
            replaces: Some(&first),
        };
        assert!(db.store.start_session(&new, &audit(AuditAction::Login)).await.unwrap());
        assert!(db.store.touch_session(&first, at(2), 30 * MINUTE).await.unwrap().is_none());
        assert!(db.store.end_session(&second, &audit(AuditAction::Logout)).await.unwrap());
        assert!(!db.store.end_session(&second, &audit(AuditAction::Logout)).await.unwrap());
        assert!(db.store.touch_session(&second, at(2), 30 * MINUTE).await.unwrap().is_none());
        assert_eq!(db.count("SELECT COUNT(*) FROM audit_log WHERE action = 'logout'").await, 1);
    }

    async fn the_totp_secret_is_sealed_and_bound_to_its_user(db: TestDb) {
        let ops = user(&db.store, "ops@example.com", Role::Admin).await;
        let secret = TotpSecret::generate();
        db.store.set_totp_secret(&ops.id, Some(&secret), at(1)).await.unwrap();
        let credentials = db.store.credentials(&ops.email).await.unwrap().unwrap();
        assert_eq!(credentials.totp, Some(secret.clone()));
        assert!(credentials.user.has_totp);
        let other = Store::connect(&db.url, &MasterKey::generate()).await.unwrap();
        assert!(matches!(other.credentials(&ops.email).await, Err(StoreError::Crypto(_))));
        // Copied onto another user's row it does not open.
        let viewer = user(&db.store, "viewer@example.com", Role::Viewer).await;
        db.execute(&format!(
            "UPDATE users SET totp_secret_sealed = (SELECT totp_secret_sealed FROM users WHERE id = '{}') \
             WHERE id = '{}'", ops.id, viewer.id)).await;
        assert!(matches!(db.store.credentials(&viewer.email).await, Err(StoreError::Crypto(_))));
        db.store.set_totp_secret(&ops.id, None, at(2)).await.unwrap();
        assert!(db.store.credentials(&ops.email).await.unwrap().unwrap().totp.is_none());
    }

    async fn a_new_sk_kept_for_a_session_is_taken_once_by_that_session_before_it_expires(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let ops = user(&db.store, "ops@example.com", Role::Admin).await;
        let (mine, theirs) = (SessionToken::generate(), SessionToken::generate());
        assert!(start(&db.store, &ops, &mine, at(0)).await);
        assert!(start(&db.store, &ops, &theirs, at(0)).await);
        let sk = SecretKey::generate(gateway::domain::Mode::Sandbox);
        db.store.keep_key_display(&mine, &site.id, KeyShown::Rotated, &sk, at(5)).await.unwrap();
        // Sealed in its table, like a site's SK.
        let raw = db.bytes("SELECT secret_key_sealed FROM key_displays").await;
        assert!(!raw.windows(sk.expose().len()).any(|w| w == sk.expose().as_bytes()), "plaintext SK in the table");
        // Not another session's, nor another site's.
        assert_eq!(db.store.take_key_display(&theirs, &site.id, at(1)).await.unwrap(), None);
        assert_eq!(db.store.take_key_display(&mine, &SiteId::generate(), at(1)).await.unwrap(), None);
        // Once.
        assert_eq!(db.store.take_key_display(&mine, &site.id, at(1)).await.unwrap(), Some((KeyShown::Rotated, sk.clone())));
        assert_eq!(db.store.take_key_display(&mine, &site.id, at(1)).await.unwrap(), None);
        // A newer one replaces one not taken yet; past its end it is not shown, and gone.
        db.store.keep_key_display(&mine, &site.id, KeyShown::Created, &sk, at(5)).await.unwrap();
        let newer = SecretKey::generate(gateway::domain::Mode::Sandbox);
        db.store.keep_key_display(&mine, &site.id, KeyShown::Rotated, &newer, at(6)).await.unwrap();
        assert_eq!(db.count("SELECT COUNT(*) FROM key_displays").await, 1);
        assert_eq!(db.store.take_key_display(&mine, &site.id, at(6)).await.unwrap(), None);
        assert_eq!(db.count("SELECT COUNT(*) FROM key_displays").await, 0);
        // The purge deletes the expired ones and those of ended sessions; a logout takes its own.
        db.store.keep_key_display(&mine, &site.id, KeyShown::Created, &sk, at(5)).await.unwrap();
        db.store.keep_key_display(&theirs, &site.id, KeyShown::Created, &sk, at(10)).await.unwrap();
        db.store.purge_sessions(at(6), 30 * MINUTE).await.unwrap();
        assert_eq!(db.count("SELECT COUNT(*) FROM key_displays").await, 1, "the expired one purged");
        assert!(db.store.end_session(&theirs, &audit(AuditAction::Logout)).await.unwrap());
        assert_eq!(db.count("SELECT COUNT(*) FROM key_displays").await, 0, "ended with its session");
        let gone = SessionToken::generate();
        db.store.keep_key_display(&gone, &site.id, KeyShown::Created, &sk, at(10)).await.unwrap();
        db.store.purge_sessions(at(6), 30 * MINUTE).await.unwrap();
        assert_eq!(db.count("SELECT COUNT(*) FROM key_displays").await, 0, "no session, no display");
    }
}
