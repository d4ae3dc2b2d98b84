use gateway::crypto::MasterKey;
use gateway::store::{Store, StoreError};

use crate::on_both_backends;
use crate::support::TestDb;

on_both_backends! {
    async fn migrations_apply_twice_and_from_a_second_connection(db: TestDb) {
        db.store.migrate().await.unwrap();
        let again = Store::connect(&db.url, &db.master_key).await.unwrap();
        again.migrate().await.unwrap();
        again.ping().await.unwrap();
        assert_eq!(db.count("SELECT COUNT(*) FROM _sqlx_migrations").await, 23);
        assert_eq!(db.count("SELECT COUNT(*) FROM orders").await, 0);
    }
}

#[tokio::test]
async fn an_unknown_scheme_is_refused_without_echoing_the_url() {
    let err = Store::connect("mysql://root:hunter2@db/paygate", &MasterKey::generate())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnsupportedUrl { ref scheme } if scheme == "mysql"));
    assert!(!err.to_string().contains("hunter2"));
}
