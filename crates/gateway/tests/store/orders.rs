use gateway::domain::{
    Amount, Attach, BuyerId, Channel, CheckoutToken, Method, NewOrder, NotifyUrl, Openid,
    OrderStatus, OutTradeNo, PayMethod, UpstreamOrderNo, parse_client_ip,
};
use gateway::store::InsertOutcome;

use crate::on_both_backends;
use crate::support::{TestDb, created_order, insert, new_site, now, seed_request};

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
}
