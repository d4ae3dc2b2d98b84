use std::time::Duration;

use gateway::domain::{
    AccessKey, Amount, ApiNonce, Attach, BuyerId, Channel, CheckoutToken, Method, Mode, NewOrder,
    NotifyUrl, Openid, OrderStatus, OutTradeNo, PayMethod, Site, UpstreamFields, UpstreamOrderNo,
    parse_client_ip,
};
use gateway::store::{InsertOutcome, NonceUse, Transition};

use crate::on_both_backends;
use crate::support::{TestDb, created_order, insert, new_site, now, seed_request};

/// A create's nonce for `site`, used now.
#[allow(clippy::unwrap_used)] // a test helper: a bad literal is a failing test
fn nonce_of(site: &Site, nonce: &str) -> NonceUse {
    NonceUse {
        ak: site.access_key.clone(),
        nonce: ApiNonce::parse(&format!("nonce-for-{nonce}")).unwrap(),
        at: now(),
        retention: Duration::from_secs(661),
    }
}

on_both_backends! {
    async fn an_order_reads_back_as_it_was_stored(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let mut request = seed_request("order_20240101_001");
        request.pay_method = PayMethod::new(Channel::Alipay, Method::Jsapi).unwrap().into();
        request.attach = Some(Attach::parse("附加 data").unwrap());
        request.notify_url = Some(NotifyUrl::parse("https://shop.example.com/paid").unwrap());
        request.payer.openid = Some(Openid::parse("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o").unwrap());
        request.payer.buyer_id = Some(BuyerId::parse("2088102146225135").unwrap());
        request.payer.client_ip = Some(parse_client_ip("2001:db8::1").unwrap());
        let new = NewOrder::prepare(site.id.clone(), request.clone(), now());
        let InsertOutcome::Inserted(order) = db.store.insert_order_if_absent(&new).await.unwrap() else {
            panic!("not inserted");
        };
        assert_eq!(order.status, OrderStatus::Created);
        assert_eq!(order.version, 0);
        assert_eq!(order.site_id, site.id);
        assert_eq!(order.out_trade_no, request.out_trade_no);
        assert_eq!(order.order_method(), request.pay_method);
        assert_eq!(order.amount, Amount::parse(2990).unwrap());
        assert_eq!(order.description, request.description);
        assert_eq!(order.attach, request.attach);
        assert_eq!(order.notify_url, request.notify_url);
        assert_eq!(order.payer, request.payer);
        assert_eq!(order.upstream_order_no, *new.upstream_order_no());
        assert_eq!(order.checkout_token, *new.checkout_token());
        assert_eq!((order.created_at, order.expires_at), (new.created_at(), new.expires_at()));
        assert_eq!(order.paid_at, None);
        assert!(order.was_created_from(&request));
    }

    async fn the_same_request_again_returns_the_first_order(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let first = created_order(&db.store, &site, "order_20240101_001").await;
        let InsertOutcome::Existing(again) = insert(&db.store, &site, seed_request("order_20240101_001")).await else {
            panic!("inserted twice");
        };
        assert_eq!(again, first, "same id, upstream number and token as the first");
        assert!(again.was_created_from(&seed_request("order_20240101_001")));

        let mut different = seed_request("order_20240101_001");
        different.amount = Amount::parse(1).unwrap();
        let InsertOutcome::Existing(conflict) = insert(&db.store, &site, different.clone()).await else {
            panic!("a different request created a second order");
        };
        assert!(!conflict.was_created_from(&different), "different content must be a conflict");
        assert_eq!(db.count("SELECT COUNT(*) FROM orders").await, 1);
    }

    async fn two_sites_may_use_the_same_out_trade_no(db: TestDb) {
        let a = new_site(&db.store, "a").await;
        let b = new_site(&db.store, "b").await;
        let order_a = created_order(&db.store, &a, "order_20240101_001").await;
        let order_b = created_order(&db.store, &b, "order_20240101_001").await;
        assert_ne!(order_a.id, order_b.id);
        assert_ne!(order_a.upstream_order_no, order_b.upstream_order_no);
        let no = OutTradeNo::parse("order_20240101_001").unwrap();
        assert_eq!(db.store.find_order(&a.id, &no).await.unwrap().unwrap().id, order_a.id);
        assert_eq!(db.store.find_order(&b.id, &no).await.unwrap().unwrap().id, order_b.id);
    }

    async fn a_site_cannot_see_another_sites_order(db: TestDb) {
        let a = new_site(&db.store, "a").await;
        let b = new_site(&db.store, "b").await;
        let order = created_order(&db.store, &a, "only_on_site_a").await;
        assert!(db.store.find_order(&b.id, &order.out_trade_no).await.unwrap().is_none());
        assert!(db.store.order_events(&b.id, order.id).await.unwrap().is_empty());
    }

    async fn orders_are_found_by_checkout_token_and_upstream_number(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = created_order(&db.store, &site, "order_20240101_001").await;
        let by_token = db.store.find_order_by_token(&order.checkout_token).await.unwrap().unwrap();
        assert_eq!(by_token.id, order.id);
        let by_no = db.store.find_order_by_upstream_no(&order.upstream_order_no).await.unwrap().unwrap();
        assert_eq!(by_no.id, order.id);
        assert!(db.store.find_order_by_token(&CheckoutToken::generate()).await.unwrap().is_none());
        let unknown = UpstreamOrderNo::generate(now());
        assert!(db.store.find_order_by_upstream_no(&unknown).await.unwrap().is_none());
    }

    async fn fifty_concurrent_identical_inserts_make_one_order(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let store = db.store.clone();
                let new = NewOrder::prepare(site.id.clone(), seed_request("order_concurrent_1"), now());
                tokio::spawn(async move { store.insert_order_if_absent(&new).await.unwrap() })
            })
            .collect();
        let mut inserted = 0;
        let mut ids = std::collections::BTreeSet::new();
        for task in tasks {
            let outcome = task.await.unwrap();
            inserted += usize::from(matches!(outcome, InsertOutcome::Inserted(_)));
            ids.insert(outcome.order().id);
        }
        assert_eq!(inserted, 1);
        assert_eq!(ids.len(), 1, "every caller sees the one order");
        assert_eq!(db.count("SELECT COUNT(*) FROM orders").await, 1);
    }

    async fn an_order_needs_an_existing_site(db: TestDb) {
        let ghost = gateway::domain::SiteId::generate();
        let new = NewOrder::prepare(ghost, seed_request("order_20240101_001"), now());
        assert!(db.store.insert_order_if_absent(&new).await.is_err());
    }

    async fn an_order_and_its_nonce_are_written_together(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let new = NewOrder::prepare(site.id.clone(), seed_request("order_nonce_1"), now());
        let inserted = db.store.insert_order_with_nonce(&new, &nonce_of(&site, "a")).await.unwrap();
        assert!(matches!(inserted, Some(InsertOutcome::Inserted(_))), "{inserted:?}");

        // A replayed nonce writes nothing, not even an order never seen before.
        let other = NewOrder::prepare(site.id.clone(), seed_request("order_nonce_2"), now());
        assert_eq!(db.store.insert_order_with_nonce(&other, &nonce_of(&site, "a")).await.unwrap(), None);
        assert_eq!(db.count("SELECT COUNT(*) FROM orders").await, 1);
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs").await, 1);

        // A retry under a fresh nonce finds the order, and uses its nonce up with it.
        let retry = NewOrder::prepare(site.id.clone(), seed_request("order_nonce_1"), now());
        let found = db.store.insert_order_with_nonce(&retry, &nonce_of(&site, "b")).await.unwrap();
        let Some(InsertOutcome::Existing(order)) = found else { panic!("{found:?}") };
        assert_eq!(order.out_trade_no.as_str(), "order_nonce_1");
        let b = nonce_of(&site, "b");
        assert!(!db.store.remember_nonce(&b.ak, &b.nonce, now(), b.retention).await.unwrap(), "used up");
        // Nonces are per access key.
        let elsewhere = NonceUse { ak: AccessKey::generate(Mode::Sandbox), ..nonce_of(&site, "a") };
        assert!(db.store.remember_nonce(&elsewhere.ak, &elsewhere.nonce, now(), elsewhere.retention).await.unwrap());
        assert_eq!(db.count("SELECT COUNT(*) FROM api_nonces").await, 3);
    }

    async fn an_expired_nonce_may_carry_a_new_order(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let old = NonceUse { at: now().minus(Duration::from_secs(662)), ..nonce_of(&site, "old") };
        let first = NewOrder::prepare(site.id.clone(), seed_request("order_nonce_old"), now());
        assert!(db.store.insert_order_with_nonce(&first, &old).await.unwrap().is_some());
        let new = NewOrder::prepare(site.id.clone(), seed_request("order_nonce_new"), now());
        let inserted = db.store.insert_order_with_nonce(&new, &nonce_of(&site, "old")).await.unwrap();
        assert!(matches!(inserted, Some(InsertOutcome::Inserted(_))), "{inserted:?}");
    }

    async fn the_same_create_eight_times_at_once_is_one_order_and_seven_replays(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let nonce = nonce_of(&site, "burst");
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (store, nonce) = (db.store.clone(), nonce.clone());
                let new = NewOrder::prepare(site.id.clone(), seed_request("order_nonce_burst"), now());
                tokio::spawn(async move { store.insert_order_with_nonce(&new, &nonce).await.unwrap() })
            })
            .collect();
        let (mut inserted, mut replays) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Some(InsertOutcome::Inserted(_)) => inserted += 1,
                None => replays += 1,
                Some(InsertOutcome::Existing(order)) => panic!("a replay found the order: {order:?}"),
            }
        }
        assert_eq!((inserted, replays), (1, 7));
        assert_eq!(db.count("SELECT COUNT(*) FROM orders").await, 1);
        assert_eq!(db.count("SELECT COUNT(*) FROM api_nonces").await, 1);
    }

    async fn thirty_two_creates_at_once_all_succeed(db: TestDb) {
        // What each order creation writes, 32 at once on one store: on SQLite the writers take
        // turns in the store, none fails as the database being busy.
        let site = new_site(&db.store, "shop").await;
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let (store, nonce) = (db.store.clone(), nonce_of(&site, &format!("many-{i}")));
                let new = NewOrder::prepare(site.id.clone(), seed_request(&format!("order_many_{i}")), now());
                tokio::spawn(async move {
                    let Some(InsertOutcome::Inserted(order)) = store.insert_order_with_nonce(&new, &nonce).await.unwrap() else {
                        panic!("order_many_{i} was not inserted");
                    };
                    let pending = Transition {
                        order_id: order.id,
                        from: OrderStatus::Created,
                        to: OrderStatus::Pending,
                        reason: "upstream_accepted".to_owned(),
                        upstream: UpstreamFields::default(),
                        at: now(),
                    };
                    assert!(store.transition(&pending).await.unwrap().won());
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(db.count("SELECT COUNT(*) FROM orders WHERE status = 'pending'").await, 32);
        assert_eq!(db.count("SELECT COUNT(*) FROM api_nonces").await, 32);
    }
}
