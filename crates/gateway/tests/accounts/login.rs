use gateway::domain::{Role, SiteId, TotpSecret};
use gateway::service::AccountError;

use crate::support::TestDb;
use crate::{MINUTE, PASSWORD, at, attempt, create, login, on_both_backends, service};

on_both_backends! {
    async fn the_right_password_signs_in_with_any_case_of_the_email(db: TestDb) {
        let accounts = service(&db.store);
        let ops = create(&accounts, "ops@example.com", Role::Admin).await;
        let signed = login(&accounts, "  OPS@Example.com", PASSWORD, at(0)).await.unwrap();
        assert_eq!(signed.user.id, ops.id);
        assert_eq!(signed.session.expires_at, at(12 * 60));
        assert!(!signed.session.csrf_token.is_empty());
    }

    async fn an_unknown_email_and_a_wrong_password_get_the_same_answer(db: TestDb) {
        let accounts = service(&db.store);
        create(&accounts, "ops@example.com", Role::Admin).await;
        let wrong = login(&accounts, "ops@example.com", "not the password", at(0)).await.unwrap_err();
        let unknown = login(&accounts, "nobody@example.com", PASSWORD, at(0)).await.unwrap_err();
        let malformed = login(&accounts, "not an email", PASSWORD, at(0)).await.unwrap_err();
        assert!(matches!(wrong, AccountError::BadCredentials));
        assert!(matches!(unknown, AccountError::BadCredentials));
        assert!(matches!(malformed, AccountError::BadCredentials));
        assert_eq!(wrong.to_string(), unknown.to_string());
        let log = db.store.list_audit(10).await.unwrap();
        let failed: Vec<_> = log.iter().filter(|e| e.action == "login.failed").collect();
        assert_eq!(failed.len(), 3);
        assert!(failed.iter().all(|e| e.ip.as_deref() == Some("192.0.2.10")));
        assert!(
            log.iter().all(|e| !e.detail.contains("nobody") && !e.detail.contains(PASSWORD)),
            "neither the attempted email nor a password is recorded"
        );
    }

    async fn ten_wrong_passwords_lock_the_account_for_fifteen_minutes(db: TestDb) {
        let accounts = service(&db.store);
        create(&accounts, "ops@example.com", Role::Admin).await;
        for i in 0..9 {
            let err = login(&accounts, "ops@example.com", "wrong password", at(i)).await.unwrap_err();
            assert!(matches!(err, AccountError::BadCredentials), "failure {}: {err}", i + 1);
        }
        let err = login(&accounts, "ops@example.com", "wrong password", at(9)).await.unwrap_err();
        let until = at(9).plus(15 * MINUTE);
        assert!(matches!(err, AccountError::Locked { until: u } if u == until), "{err}");
        assert!(err.to_string().contains("locked"), "{err}");
        // Even the right password waits for the lock to end.
        let err = login(&accounts, "ops@example.com", PASSWORD, at(23)).await.unwrap_err();
        assert!(matches!(err, AccountError::Locked { .. }), "{err}");
        login(&accounts, "ops@example.com", PASSWORD, at(24)).await.unwrap();
    }

    async fn a_good_login_clears_the_failure_count(db: TestDb) {
        let accounts = service(&db.store);
        create(&accounts, "ops@example.com", Role::Admin).await;
        for i in 0..9 {
            login(&accounts, "ops@example.com", "wrong password", at(i)).await.unwrap_err();
        }
        login(&accounts, "ops@example.com", PASSWORD, at(9)).await.unwrap();
        for i in 10..19 {
            let err = login(&accounts, "ops@example.com", "wrong password", at(i)).await.unwrap_err();
            assert!(matches!(err, AccountError::BadCredentials), "{err}");
        }
    }

    async fn concurrent_wrong_passwords_are_all_counted(db: TestDb) {
        let accounts = service(&db.store);
        create(&accounts, "ops@example.com", Role::Admin).await;
        let tries: Vec<_> = (0..10).map(|_| {
            let accounts = accounts.clone();
            tokio::spawn(async move {
                accounts.login(crate::attempt("ops@example.com", "wrong password", at(0))).await
            })
        }).collect();
        let mut locked = 0;
        for t in tries {
            if matches!(t.await.unwrap(), Err(AccountError::Locked { .. })) {
                locked += 1;
            }
        }
        assert_eq!(locked, 1, "exactly the tenth locks it");
        let err = login(&accounts, "ops@example.com", PASSWORD, at(1)).await.unwrap_err();
        assert!(matches!(err, AccountError::Locked { .. }), "{err}");
    }

    async fn an_address_with_too_many_failures_is_refused_whatever_the_account(db: TestDb) {
        let accounts = service(&db.store);
        create(&accounts, "ops@example.com", Role::Admin).await;
        for i in 0..50 {
            let email = format!("guess{i}@example.com");
            login(&accounts, &email, "wrong password", at(0)).await.unwrap_err();
        }
        let err = login(&accounts, "ops@example.com", PASSWORD, at(1)).await.unwrap_err();
        assert!(matches!(err, AccountError::TooManyAttempts), "{err}");
        let mut elsewhere = attempt("ops@example.com", PASSWORD, at(1));
        elsewhere.ip = Some("198.51.100.1");
        accounts.login(elsewhere).await.unwrap();
        login(&accounts, "ops@example.com", PASSWORD, at(15)).await.unwrap();
    }

    async fn ipv6_failures_count_against_their_whole_64(db: TestDb) {
        let accounts = service(&db.store);
        create(&accounts, "ops@example.com", Role::Admin).await;
        // One guesser walking through the addresses of its /64, a new one for each try.
        let addresses: Vec<String> = (0..50).map(|i| format!("2001:db8:7:1::{:x}", i + 1)).collect();
        for (i, ip) in addresses.iter().enumerate() {
            let email = format!("guess{i}@example.com");
            let mut guess = attempt(&email, "wrong password", at(0));
            guess.ip = Some(ip.as_str());
            accounts.login(guess).await.unwrap_err();
        }
        let mut fresh = attempt("ops@example.com", PASSWORD, at(1));
        fresh.ip = Some("2001:db8:7:1:abcd::99");
        let err = accounts.login(fresh).await.unwrap_err();
        assert!(matches!(err, AccountError::TooManyAttempts), "{err}");
        // The next /64 is someone else, and the audit log keeps each full address.
        let mut neighbour = attempt("ops@example.com", PASSWORD, at(1));
        neighbour.ip = Some("2001:db8:7:2::1");
        accounts.login(neighbour).await.unwrap();
        let log = db.store.list_audit(200).await.unwrap();
        assert!(log.iter().any(|e| e.ip.as_deref() == Some("2001:db8:7:1::32")));
    }

    async fn a_disabled_user_cannot_sign_in_and_hears_only_bad_credentials(db: TestDb) {
        let accounts = service(&db.store);
        let ops = create(&accounts, "ops@example.com", Role::Admin).await;
        accounts.disable(&ops.email, gateway::domain::Actor::Cli, at(1)).await.unwrap();
        let err = login(&accounts, "ops@example.com", PASSWORD, at(2)).await.unwrap_err();
        assert!(matches!(err, AccountError::BadCredentials), "{err}");
    }

    async fn a_second_factor_is_asked_for_and_checked(db: TestDb) {
        let accounts = service(&db.store);
        let ops = create(&accounts, "ops@example.com", Role::Admin).await;
        let secret = TotpSecret::generate();
        accounts.set_totp(&ops.email, Some(&secret), at(0)).await.unwrap();
        let err = login(&accounts, "ops@example.com", PASSWORD, at(1)).await.unwrap_err();
        assert!(matches!(err, AccountError::SecondFactorRequired), "{err}");
        let mut wrong = attempt("ops@example.com", PASSWORD, at(1));
        let bad_code = format!("{:06}", (secret.code_at(at(1)) + 1) % 1_000_000);
        wrong.totp = Some(&bad_code);
        assert!(matches!(accounts.login(wrong).await, Err(AccountError::BadSecondFactor)));
        let code = format!("{:06}", secret.code_at(at(1)));
        let mut right = attempt("ops@example.com", PASSWORD, at(1));
        right.totp = Some(&code);
        accounts.login(right).await.unwrap();
    }

    async fn a_site_user_needs_an_existing_site(db: TestDb) {
        let accounts = service(&db.store);
        let err = accounts.create_user(
            gateway::domain::Email::parse("shop@example.com").unwrap(),
            Role::Site(SiteId::generate()),
            crate::password(PASSWORD),
            gateway::domain::Actor::Cli,
            at(0),
        ).await.unwrap_err();
        assert!(matches!(err, AccountError::UnknownSite), "{err}");
    }
}
