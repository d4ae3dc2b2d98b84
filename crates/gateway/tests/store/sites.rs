// Helpers outside `#[test]` functions: a failure there is the test failing, so unwrap is right.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use gateway::crypto::MasterKey;
use gateway::domain::{
    AccessKey, Actor, AuditAction, AuditEntry, Channel, Method, Mode, NotifyUrl, PayMethod, SiteId,
    SiteName, SiteStatus,
};
use gateway::store::{NewSite, SiteUpdate, Store, StoreError};

use crate::on_both_backends;
use crate::support::{TestDb, new_site, now};

fn url(s: &str) -> NotifyUrl {
    NotifyUrl::parse(s).unwrap()
}

/// An audit entry of the command line's, for the changes that record one.
fn audit(action: AuditAction) -> AuditEntry {
    AuditEntry::new(now(), Actor::Cli, action).on("site", "test")
}

fn method(channel: Channel, method: Method) -> PayMethod {
    PayMethod::new(channel, method).unwrap()
}

on_both_backends! {
    async fn a_site_is_found_by_its_ak_and_id_with_its_sk(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let by_ak = db.store.find_site_by_ak(&site.access_key).await.unwrap().unwrap();
        assert_eq!(by_ak.id, site.id);
        assert_eq!(by_ak.secret_key, site.secret_key);
        assert_eq!(by_ak.name.as_str(), "shop");
        assert_eq!(by_ak.status, SiteStatus::Active);
        assert!(by_ak.may_use(PayMethod::new(Channel::Wechat, Method::Native).unwrap()));
        assert!(!by_ak.may_use(PayMethod::new(Channel::Alipay, Method::Qr).unwrap()));
        let by_id = db.store.find_site(&site.id).await.unwrap().unwrap();
        assert_eq!(by_id.access_key, site.access_key);
        assert!(db.store.find_site_by_ak(&AccessKey::generate(Mode::Sandbox)).await.unwrap().is_none());
        assert!(db.store.find_site(&SiteId::generate()).await.unwrap().is_none());
    }

    async fn sites_are_listed_oldest_first(db: TestDb) {
        let a = new_site(&db.store, "a").await;
        let b = new_site(&db.store, "b").await;
        let ids: Vec<_> = db.store.list_sites().await.unwrap().into_iter().map(|s| s.id).collect();
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(&a.id) && ids.contains(&b.id));
    }

    async fn the_sk_is_sealed_in_the_table(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let raw = db.raw_sealed_sk(&site).await;
        let plain = site.secret_key.expose().as_bytes();
        assert_eq!(raw[0], 1, "format version");
        assert!(!raw.windows(plain.len()).any(|w| w == plain), "plaintext SK in the table");
        // Under another master key the SK does not open: an error, not a wrong key.
        let other = Store::connect(&db.url, &MasterKey::generate()).await.unwrap();
        assert!(matches!(other.find_site(&site.id).await, Err(StoreError::Crypto(_))));
    }

    async fn rotating_the_sk_replaces_it(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let before = db.raw_sealed_sk(&site).await;
        let new_sk = db.store.rotate_secret_key(&site.id, now(), &audit(AuditAction::SiteRotateKey)).await.unwrap();
        assert_ne!(new_sk, site.secret_key);
        let found = db.store.find_site_by_ak(&site.access_key).await.unwrap().unwrap();
        assert_eq!(found.secret_key, new_sk);
        assert_ne!(db.raw_sealed_sk(&site).await, before);
        let unknown = db.store.rotate_secret_key(&SiteId::generate(), now(), &audit(AuditAction::SiteRotateKey)).await;
        assert!(matches!(unknown, Err(StoreError::NotFound("site"))));
        // The rotation is recorded with it; the one of no site is not.
        let log = db.store.list_audit(10).await.unwrap();
        assert_eq!(log.iter().filter(|e| e.action == "site.rotate_key").count(), 1);
    }

    async fn private_targets_are_off_unless_the_site_is_created_with_them(db: TestDb) {
        assert!(!new_site(&db.store, "shop").await.allow_private_targets);
        let intranet = db.store.create_site(NewSite {
            name: SiteName::parse("intranet").unwrap(),
            notify_url: Some(url("http://10.0.0.5/notify")),
            enabled_methods: BTreeSet::from([method(Channel::Wechat, Method::Native)]),
            allow_private_targets: true,
        }, now()).await.unwrap();
        assert!(intranet.allow_private_targets);
        assert!(db.store.find_site(&intranet.id).await.unwrap().unwrap().allow_private_targets);
        let by_ak = db.store.find_site_by_ak(&intranet.access_key).await.unwrap().unwrap();
        assert!(by_ak.allow_private_targets);
    }

    async fn an_update_changes_what_it_names_and_keeps_the_rest(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let (id, before) = (site.id.clone(), db.store.find_site(&site.id).await.unwrap().unwrap());

        db.store.update_site(&id, &SiteUpdate {
            notify_url: Some(Some(url("https://shop.example/notify"))),
            ..SiteUpdate::default()
        }, now(), &audit(AuditAction::SiteUpdate)).await.unwrap();
        let s = db.store.find_site(&id).await.unwrap().unwrap();
        assert_eq!(s.notify_url, Some(url("https://shop.example/notify")));
        assert_eq!(s.enabled_methods, before.enabled_methods);
        assert!(!s.allow_private_targets);

        let alipay_only = BTreeSet::from([method(Channel::Alipay, Method::Qr)]);
        db.store.update_site(&id, &SiteUpdate {
            enabled_methods: Some(alipay_only.clone()),
            allow_private_targets: Some(true),
            ..SiteUpdate::default()
        }, now(), &audit(AuditAction::SiteUpdate)).await.unwrap();
        let s = db.store.find_site(&id).await.unwrap().unwrap();
        assert_eq!(s.enabled_methods, alipay_only);
        assert!(s.allow_private_targets);
        assert_eq!(s.notify_url, Some(url("https://shop.example/notify")), "kept");
        assert!(!s.may_use(method(Channel::Wechat, Method::Native)));

        db.store.update_site(&id, &SiteUpdate {
            notify_url: Some(None),
            allow_private_targets: Some(false),
            ..SiteUpdate::default()
        }, now(), &audit(AuditAction::SiteUpdate)).await.unwrap();
        let s = db.store.find_site(&id).await.unwrap().unwrap();
        assert_eq!(s.notify_url, None);
        assert!(!s.allow_private_targets);
        assert_eq!(s.enabled_methods, alipay_only, "kept");
        assert_eq!((s.access_key, s.secret_key, s.status), (before.access_key, before.secret_key, SiteStatus::Active));

        let unknown = db.store.update_site(&SiteId::generate(), &SiteUpdate {
            allow_private_targets: Some(true),
            ..SiteUpdate::default()
        }, now(), &audit(AuditAction::SiteUpdate)).await;
        assert!(matches!(unknown, Err(StoreError::NotFound("site"))));
        assert!(SiteUpdate::default().is_empty());
        let log = db.store.list_audit(10).await.unwrap();
        assert_eq!(log.iter().filter(|e| e.action == "site.update").count(), 3, "one per change made");

        db.store.update_site(&id, &SiteUpdate {
            name: Some(SiteName::parse("shop, renamed").unwrap()),
            ..SiteUpdate::default()
        }, now(), &audit(AuditAction::SiteUpdate)).await.unwrap();
        let s = db.store.find_site(&id).await.unwrap().unwrap();
        assert_eq!(s.name.as_str(), "shop, renamed");
        assert_eq!(s.enabled_methods, alipay_only, "kept");
    }

    async fn a_disabled_site_may_use_nothing(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        db.store.set_site_status(&site.id, SiteStatus::Disabled, now(), &audit(AuditAction::SiteDisable)).await.unwrap();
        let found = db.store.find_site(&site.id).await.unwrap().unwrap();
        assert_eq!(found.status, SiteStatus::Disabled);
        assert!(!found.may_use(PayMethod::new(Channel::Wechat, Method::Native).unwrap()));
    }

    async fn the_sandboxs_demo_site_is_created_once_and_in_the_audit_log(db: TestDb) {
        let demo = gateway::sandbox::create_demo_site(&db.store).await.unwrap().unwrap();
        assert!(gateway::sandbox::create_demo_site(&db.store).await.unwrap().is_none());
        let log = db.store.list_audit(10).await.unwrap();
        assert_eq!(log.len(), 1, "{log:?}");
        let entry = &log[0];
        assert_eq!(entry.action, "site.create");
        assert_eq!(entry.object_id.as_deref(), Some(demo.site_id.as_str()));
        assert_eq!(entry.actor_user_id, None, "the command line's");
        assert!(!entry.detail.contains(&demo.sk), "never a key: {}", entry.detail);
    }
}
