use gateway::domain::{Actor, Email, Role};
use gateway::service::AccountError;

use crate::support::TestDb;
use crate::{PASSWORD, at, create, login, on_both_backends, password, service};

on_both_backends! {
    async fn an_email_differing_only_by_case_is_refused(db: TestDb) {
        let accounts = service(&db.store);
        create(&accounts, "ops@example.com", Role::Admin).await;
        let err = accounts.create_user(
            Email::parse("Ops@Example.COM").unwrap(), Role::Viewer, password(PASSWORD), Actor::Cli, at(1),
        ).await.unwrap_err();
        assert!(matches!(err, AccountError::EmailTaken), "{err}");
        assert_eq!(accounts.list_users().await.unwrap().len(), 1);
    }

    async fn the_audit_log_records_each_account_action(db: TestDb) {
        let accounts = service(&db.store);
        let ops = create(&accounts, "ops@example.com", Role::Admin).await;
        let token = login(&accounts, "ops@example.com", PASSWORD, at(1)).await.unwrap().token;
        login(&accounts, "ops@example.com", "wrong password", at(2)).await.unwrap_err();
        accounts.logout(&token, None, at(3)).await.unwrap();
        accounts.reset_password(&ops.email, password("another passphrase"), Actor::Cli, at(4)).await.unwrap();
        accounts.disable(&ops.email, Actor::Cli, at(5)).await.unwrap();
        let actions: Vec<_> = accounts.audit_log(10).await.unwrap().into_iter().rev().map(|e| e.action).collect();
        assert_eq!(actions, [
            "user.create", "login", "login.failed", "logout", "user.reset_password", "user.disable",
        ]);
        let unknown = accounts.disable(&Email::parse("nobody@example.com").unwrap(), Actor::Cli, at(6)).await;
        assert!(matches!(unknown, Err(AccountError::UnknownUser)));
    }
}
