use std::time::Duration;

use gateway::domain::{AccessKey, ApiNonce, Mode, Timestamp};

use crate::on_both_backends;
use crate::support::TestDb;

#[allow(clippy::unwrap_used)] // a test helper: a bad literal is a failing test
fn nonce(s: &str) -> ApiNonce {
    ApiNonce::parse(&format!("nonce-{s}")).unwrap()
}

const WINDOW: Duration = Duration::from_secs(300);

on_both_backends! {
    async fn a_nonce_is_accepted_once_per_ak(db: TestDb) {
        let (ak, other_ak) = (AccessKey::generate(Mode::Sandbox), AccessKey::generate(Mode::Sandbox));
        let t = Timestamp::from_millis(1_706_601_234_000);
        assert!(db.store.remember_nonce(&ak, &nonce("n-1"), t, WINDOW).await.unwrap());
        assert!(!db.store.remember_nonce(&ak, &nonce("n-1"), t, WINDOW).await.unwrap(), "replay");
        let later = t.plus(Duration::from_secs(299));
        assert!(!db.store.remember_nonce(&ak, &nonce("n-1"), later, WINDOW).await.unwrap(), "replay in window");
        assert!(db.store.remember_nonce(&other_ak, &nonce("n-1"), t, WINDOW).await.unwrap(), "per AK");
        assert!(db.store.remember_nonce(&ak, &nonce("n-2"), t, WINDOW).await.unwrap());
    }

    async fn an_expired_nonce_is_fresh_again_and_purged(db: TestDb) {
        let ak = AccessKey::generate(Mode::Sandbox);
        let t = Timestamp::from_millis(1_706_601_234_000);
        assert!(db.store.remember_nonce(&ak, &nonce("old"), t, WINDOW).await.unwrap());
        let recent = t.plus(Duration::from_secs(200));
        assert!(db.store.remember_nonce(&ak, &nonce("recent"), recent, WINDOW).await.unwrap());
        let past_window = t.plus(Duration::from_secs(301));
        assert_eq!(db.store.purge_nonces(past_window, WINDOW).await.unwrap(), 1);
        assert_eq!(db.count("SELECT COUNT(*) FROM api_nonces").await, 1);
        assert!(!db.store.remember_nonce(&ak, &nonce("recent"), past_window, WINDOW).await.unwrap());

        // An expired row not yet purged does not block the nonce either.
        let much_later = past_window.plus(Duration::from_secs(600));
        assert!(db.store.remember_nonce(&ak, &nonce("recent"), much_later, WINDOW).await.unwrap());
        assert!(!db.store.remember_nonce(&ak, &nonce("recent"), much_later, WINDOW).await.unwrap());
    }

    async fn concurrent_uses_of_one_nonce_admit_exactly_one(db: TestDb) {
        let ak = AccessKey::generate(Mode::Sandbox);
        let t = Timestamp::from_millis(1_706_601_234_000);
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (store, ak) = (db.store.clone(), ak.clone());
                tokio::spawn(async move { store.remember_nonce(&ak, &nonce("same"), t, WINDOW).await.unwrap() })
            })
            .collect();
        let mut fresh = 0;
        for task in tasks {
            fresh += usize::from(task.await.unwrap());
        }
        assert_eq!(fresh, 1);
    }
}
