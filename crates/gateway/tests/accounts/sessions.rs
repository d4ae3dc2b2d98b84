use std::time::Duration;

use gateway::domain::{Actor, Role, SessionToken, Timestamp};

use crate::support::TestDb;
use crate::{PASSWORD, at, attempt, create, login, on_both_backends, service, signed_in};

/// How many rows `table` has.
async fn rows(db: &TestDb, table: &str) -> i64 {
    db.count(&format!("SELECT COUNT(*) FROM {table}")).await
}

on_both_backends! {
    async fn the_background_purge_deletes_dead_sessions_and_ended_failure_windows(db: TestDb) {
        let accounts = service(&db.store);
        create(&accounts, "ops@example.com", Role::Admin).await;
        // A session and a failure window from long ago, dead by now; one of each from now.
        login(&accounts, "ops@example.com", PASSWORD, at(0)).await.unwrap();
        assert!(login(&accounts, "ops@example.com", "wrong password", at(0)).await.is_err());
        let live = login(&accounts, "ops@example.com", PASSWORD, Timestamp::now()).await.unwrap().token;
        let mut wrong_now = attempt("ops@example.com", "wrong password", Timestamp::now());
        wrong_now.ip = Some("192.0.2.20");
        assert!(accounts.login(wrong_now).await.is_err());
        assert_eq!((rows(&db, "sessions").await, rows(&db, "login_failures").await), (2, 2));

        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let purge = tokio::spawn(gateway::workers::purge_accounts(
            accounts.clone(),
            Duration::from_millis(20),
            async { let _ = stopped.await; },
        ));
        let mut left = (0, 0);
        for _ in 0..500 {
            left = (rows(&db, "sessions").await, rows(&db, "login_failures").await);
            if left == (1, 1) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(left, (1, 1), "the dead ones purged, the live ones kept");
        assert!(signed_in(&accounts, &live, Timestamp::now()).await);
        let _ = stop.send(());
        tokio::time::timeout(Duration::from_secs(5), purge).await.unwrap().unwrap();
        assert_eq!(accounts.purge_expired(Timestamp::now()).await.unwrap(), (0, 0));
    }

    async fn a_session_ends_after_thirty_idle_minutes_or_twelve_hours(db: TestDb) {
        let accounts = service(&db.store);
        create(&accounts, "ops@example.com", Role::Admin).await;
        let idle = login(&accounts, "ops@example.com", PASSWORD, at(0)).await.unwrap().token;
        assert!(signed_in(&accounts, &idle, at(29)).await);
        assert!(!signed_in(&accounts, &idle, at(60)).await);
        let busy = login(&accounts, "ops@example.com", PASSWORD, at(0)).await.unwrap().token;
        let mut now = 0;
        while now + 20 < 12 * 60 {
            now += 20;
            assert!(signed_in(&accounts, &busy, at(now)).await, "minute {now}");
        }
        assert!(!signed_in(&accounts, &busy, at(12 * 60)).await);
    }

    async fn every_login_gets_a_new_token_and_ends_the_one_it_replaces(db: TestDb) {
        let accounts = service(&db.store);
        create(&accounts, "ops@example.com", Role::Admin).await;
        let first = login(&accounts, "ops@example.com", PASSWORD, at(0)).await.unwrap();
        let mut again = attempt("ops@example.com", PASSWORD, at(1));
        again.replaces = Some(&first.token);
        let second = accounts.login(again).await.unwrap();
        assert_ne!(first.token, second.token);
        assert_ne!(first.session.csrf_token, second.session.csrf_token);
        assert!(!signed_in(&accounts, &first.token, at(2)).await);
        assert!(signed_in(&accounts, &second.token, at(2)).await);
    }

    async fn logout_kills_the_token(db: TestDb) {
        let accounts = service(&db.store);
        create(&accounts, "ops@example.com", Role::Admin).await;
        let signed = login(&accounts, "ops@example.com", PASSWORD, at(0)).await.unwrap();
        assert!(accounts.logout(&signed.token, Some("192.0.2.10"), at(1)).await.unwrap());
        assert!(!signed_in(&accounts, &signed.token, at(1)).await);
        assert!(!accounts.logout(&signed.token, None, at(2)).await.unwrap());
        let log = db.store.list_audit(1).await.unwrap();
        assert_eq!(log[0].action, "logout");
        assert_eq!(log[0].actor_email.as_deref(), Some("ops@example.com"));
    }

    async fn a_token_is_only_ever_its_own_users(db: TestDb) {
        let accounts = service(&db.store);
        let ops = create(&accounts, "ops@example.com", Role::Admin).await;
        let viewer = create(&accounts, "viewer@example.com", Role::Viewer).await;
        let ops_token = login(&accounts, "ops@example.com", PASSWORD, at(0)).await.unwrap().token;
        let viewer_token = login(&accounts, "viewer@example.com", PASSWORD, at(0)).await.unwrap().token;
        let (_, who) = accounts.session(&ops_token, at(1)).await.unwrap().unwrap();
        assert_eq!(who.id, ops.id);
        let (_, who) = accounts.session(&viewer_token, at(1)).await.unwrap().unwrap();
        assert_eq!(who.id, viewer.id);
        // The viewer's logout cannot end the admin's session, nor a made-up token anyone's.
        assert!(accounts.logout(&viewer_token, None, at(2)).await.unwrap());
        assert!(!accounts.logout(&SessionToken::generate(), None, at(2)).await.unwrap());
        assert!(signed_in(&accounts, &ops_token, at(2)).await);
    }

    async fn disabling_or_resetting_a_user_ends_their_sessions(db: TestDb) {
        let accounts = service(&db.store);
        let ops = create(&accounts, "ops@example.com", Role::Admin).await;
        let token = login(&accounts, "ops@example.com", PASSWORD, at(0)).await.unwrap().token;
        accounts.reset_password(&ops.email, crate::password("a new passphrase"), Actor::Cli, at(1)).await.unwrap();
        assert!(!signed_in(&accounts, &token, at(1)).await);
        login(&accounts, "ops@example.com", PASSWORD, at(2)).await.unwrap_err();
        let token = login(&accounts, "ops@example.com", "a new passphrase", at(2)).await.unwrap().token;
        accounts.disable(&ops.email, Actor::Cli, at(3)).await.unwrap();
        assert!(!signed_in(&accounts, &token, at(3)).await);
    }
}
