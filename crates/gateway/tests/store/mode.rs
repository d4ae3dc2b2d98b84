//! The database's mode: recorded once, never changed, and what new keys show.

use gateway::domain::{Mode, Timestamp};
use gateway::mode::{EstablishError, ModeError, Purpose, Requested, establish, record};
use gateway::store::Store;

use crate::on_both_backends;
use crate::support::{Backend, TestDb, new_site};

on_both_backends! {
    async fn the_first_recorded_mode_wins_for_good(db: TestDb) {
        // The test database was initialised as a sandbox.
        assert_eq!(db.store.recorded_mode().await.unwrap(), Some(Mode::Sandbox));
        let again = db.store.record_mode(Mode::Live, Timestamp::now()).await.unwrap();
        assert_eq!(again, Mode::Sandbox);
        let fresh = Store::connect(&db.url, &db.master_key).await.unwrap();
        assert_eq!(fresh.record_mode(Mode::Live, Timestamp::now()).await.unwrap(), Mode::Sandbox);
        assert_eq!(db.count("SELECT COUNT(*) FROM deployment").await, 1);
    }

    async fn not_even_raw_sql_turns_a_sandbox_live(db: TestDb) {
        assert!(db.try_execute("UPDATE deployment SET mode = 'live'").await.is_err());
        assert!(db.try_execute("DELETE FROM deployment").await.is_err());
        assert!(
            db.try_execute("INSERT INTO deployment (id, mode, initialised_at) VALUES (2, 'live', 0)")
                .await
                .is_err()
        );
        let fresh = Store::connect(&db.url, &db.master_key).await.unwrap();
        assert_eq!(fresh.recorded_mode().await.unwrap(), Some(Mode::Sandbox));
    }

    async fn a_sandbox_database_refuses_credentials_and_needs_the_flag_on_postgres(db: TestDb) {
        let refused = establish(&db.store, Requested::Live, Purpose::Serve).await;
        assert!(matches!(
            refused,
            Err(EstablishError::Refused(ModeError::SandboxDatabaseWithCredentials))
        ));
        let implicit = establish(&db.store, Requested::Sandbox { explicit: false }, Purpose::Serve).await;
        match db.backend {
            Backend::Sqlite => assert_eq!(implicit.unwrap(), Mode::Sandbox),
            Backend::Postgres => assert!(matches!(
                implicit,
                Err(EstablishError::Refused(ModeError::PostgresSandboxNotRequested))
            )),
        }
        let explicit = establish(&db.store, Requested::Sandbox { explicit: true }, Purpose::Serve);
        assert_eq!(explicit.await.unwrap(), Mode::Sandbox);
        // The operator's commands need no credentials, and cannot change the mode either.
        let operate = establish(&db.store, Requested::Live, Purpose::Operate).await;
        assert_eq!(operate.unwrap(), Mode::Sandbox);
    }

    async fn new_keys_show_the_mode(db: TestDb) {
        let site = new_site(&db.store, "test shop").await;
        assert!(site.access_key.as_str().starts_with("ak_test_"));
        assert!(site.secret_key.expose().starts_with("sk_test_"));
        let rotated = db.store.rotate_secret_key(&site.id, Timestamp::now(), &gateway::domain::AuditEntry::new(Timestamp::now(), gateway::domain::Actor::Cli, gateway::domain::AuditAction::SiteRotateKey)).await.unwrap();
        assert!(rotated.expose().starts_with("sk_test_"));
    }
}

/// Turns the test database into one an older paygate left: sites, and no recorded mode.
async fn forget_the_mode(db: &TestDb) {
    match db.backend {
        Backend::Sqlite => db.execute("DROP TRIGGER deployment_mode_is_kept").await,
        Backend::Postgres => {
            db.execute("DROP TRIGGER deployment_mode_is_fixed ON deployment")
                .await
        }
    }
    db.execute("DELETE FROM deployment").await;
}

on_both_backends! {
    async fn sites_from_before_modes_wait_for_the_operator_to_say_which(db: TestDb) {
        new_site(&db.store, "shop from an older paygate").await;
        forget_the_mode(&db).await;
        // A fresh store: the first one cached the mode it read.
        let store = Store::connect(&db.url, &db.master_key).await.unwrap();
        for requested in [Requested::Live, Requested::Sandbox { explicit: true }] {
            let refused = establish(&store, requested, Purpose::Serve).await;
            assert!(
                matches!(refused, Err(EstablishError::Refused(ModeError::UnrecordedDatabaseWithSites))),
                "{requested:?}: {refused:?}"
            );
        }
        assert_eq!(record(&store, Mode::Live).await.unwrap(), Mode::Live);
        assert_eq!(record(&store, Mode::Live).await.unwrap(), Mode::Live, "said twice is fine");
        assert!(matches!(
            record(&store, Mode::Sandbox).await,
            Err(EstablishError::Refused(ModeError::AlreadyRecorded { recorded: Mode::Live }))
        ));
        assert_eq!(establish(&store, Requested::Live, Purpose::Serve).await.unwrap(), Mode::Live);
    }
}
