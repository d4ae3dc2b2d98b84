//! Each test gets its own simulator (faults are simulator-wide), sandbox accounts provisioned
//! against it, and a SQLite store in a temp dir: orders are inserted and advanced as the service
//! would, so the channel layer sees orders exactly as read back from storage.

use std::collections::BTreeSet;

use channel_core::{Fen, RsaPrivateKey, RsaPublicKey};
use gateway::channels::{AlipayAccount, Channels, UpstreamStatus, WechatAccount};
use gateway::crypto::MasterKey;
use gateway::domain::{
    Amount, Attach, BuyerId, Currency, Description, ExpireMinutes, NewOrder, Openid, Order,
    OrderRequest, OrderStatus, OutTradeNo, PayMethod, Payer, Site, SiteName, Timestamp,
    UpstreamFields, parse_client_ip,
};
use gateway::domain::{NewRefund, OutRefundNo, Refund, RefundReason, RefundRequest};
use gateway::sandbox::provision::{SandboxKeys, provision};
use gateway::store::{
    InsertOutcome, NewSite, ReserveOutcome, Store, Transition, TransitionOutcome,
};
use serde_json::Value;
use sim::RunningSim;
use test_support::db::ThrowawayDb;

pub const AMOUNT_FEN: i64 = 2990;
pub const OPENID: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";
pub const BUYER_USER_ID: &str = "2088102146225135";
pub const BUYER_OPEN_ID: &str = "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5";
pub const CLIENT_IP: &str = "203.0.113.7";
/// Contains characters Alipay's passback_params must carry URL-encoded.
pub const ATTACH: &str = "site data & more=1";

pub struct Env {
    pub sim: RunningSim,
    pub keys: SandboxKeys,
    pub wechat: WechatAccount,
    pub alipay: AlipayAccount,
    pub channels: Channels,
    pub store: Store,
    pub site: Site,
    pub http: reqwest::Client,
    /// The simulator's state dir is `sim` in it.
    dir: tempfile::TempDir,
    _database: ThrowawayDb,
}

pub async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let sim = test_support::sim::start(Some(&dir.path().join("sim")), 1.0).await;
    let keys = SandboxKeys::generate();
    // Nobody listens there: the simulators' callbacks fail and are retried in the background.
    let (wechat, alipay) = provision(
        &sim.base_url,
        &keys,
        "http://127.0.0.1:9",
        gateway::sandbox::provision::SimRefunds::SucceedOnTheirOwn,
    )
    .await
    .unwrap();
    let channels = Channels::new(Some(wechat.clone()), Some(alipay.clone()));
    let database = ThrowawayDb::sqlite();
    let store = Store::connect(database.url(), &MasterKey::generate())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
        .record_mode(gateway::domain::Mode::Sandbox, Timestamp::now())
        .await
        .unwrap();
    let site = store
        .create_site(
            NewSite {
                name: SiteName::parse("shop").unwrap(),
                notify_url: None,
                enabled_methods: PayMethod::all().into_iter().collect::<BTreeSet<_>>(),
                allow_private_targets: false,
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    Env {
        sim,
        keys,
        wechat,
        alipay,
        channels,
        store,
        site,
        http: reqwest::Client::new(),
        dir,
        _database: database,
    }
}

/// The payer fields each method needs, all present.
pub fn full_payer(method: &str) -> Payer {
    let mut payer = Payer::default();
    match method {
        "wechat.jsapi" | "wechat.miniapp" => payer.openid = Some(Openid::parse(OPENID).unwrap()),
        "wechat.h5" => payer.client_ip = Some(parse_client_ip(CLIENT_IP).unwrap()),
        "alipay.jsapi" => payer.buyer_id = Some(BuyerId::parse(BUYER_USER_ID).unwrap()),
        "alipay.miniapp" => payer.buyer_id = Some(BuyerId::parse(BUYER_OPEN_ID).unwrap()),
        _ => {}
    }
    payer
}

impl Env {
    /// A new order of `method` (`wechat.native`…), stored as the service stores it: `created`.
    pub async fn order_with(&self, method: &str, payer: Payer) -> Order {
        let request = OrderRequest {
            out_trade_no: OutTradeNo::parse(&format!(
                "o_{}",
                channel_core::nonce::alphanumeric(12)
            ))
            .unwrap(),
            pay_method: PayMethod::parse_dotted(method).unwrap().into(),
            amount: Amount::parse(AMOUNT_FEN).unwrap(),
            currency: Currency::Cny,
            description: Description::parse("VIP月卡").unwrap(),
            attach: Some(Attach::parse(ATTACH).unwrap()),
            notify_url: None,
            return_url: None,
            payer,
            expire_minutes: ExpireMinutes::default(),
            profit_sharing: false,
        };
        let new = NewOrder::prepare(self.site.id.clone(), request, Timestamp::now());
        match self.store.insert_order_if_absent(&new).await.unwrap() {
            InsertOutcome::Inserted(order) => order,
            InsertOutcome::Existing(order) => panic!("not new: {order:?}"),
        }
    }

    pub async fn order(&self, method: &str) -> Order {
        self.order_with(method, full_payer(method)).await
    }

    /// The order as stored now (what a restarted paygate would read).
    pub async fn reload(&self, order: &Order) -> Order {
        self.store
            .find_order(&self.site.id, &order.out_trade_no)
            .await
            .unwrap()
            .unwrap()
    }

    /// Records the upstream answer as the service does: `created → pending` with the fields.
    pub async fn accept(&self, order: &Order, upstream: UpstreamFields) -> Order {
        let t = Transition {
            order_id: order.id,
            from: OrderStatus::Created,
            to: OrderStatus::Pending,
            reason: "upstream_accepted".into(),
            upstream,
            at: Timestamp::now(),
        };
        match self.store.transition(&t).await.unwrap() {
            TransitionOutcome::Applied { order, .. } => order,
            TransitionOutcome::Lost(order) => panic!("lost: {order:?}"),
        }
    }

    /// A stored order of `method`, created upstream and recorded as pending.
    pub async fn pending(&self, method: &str) -> Order {
        let order = self.order(method).await;
        let fields = self.channels.create(&order).await.unwrap();
        self.accept(&order, fields).await
    }

    /// The simulator's payer pays the order.
    pub async fn pay(&self, order: &Order) {
        let no = order.upstream_order_no.as_str();
        let url = match order.pay_method.channel() {
            gateway::domain::Channel::Wechat => format!(
                "{}/sim/wechat/orders/{no}/pay?mchid={}",
                self.sim.base_url, self.keys.wechat_mchid
            ),
            gateway::domain::Channel::Alipay => format!(
                "{}/sim/alipay/trades/{no}/pay?app_id={}",
                self.sim.base_url, self.keys.alipay_app_id
            ),
        };
        let r = self.http.post(url).send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }

    /// A paid order of `method`: created upstream, paid by the simulator's payer, recorded as paid.
    pub async fn paid(&self, method: &str) -> Order {
        let order = self.pending(method).await;
        self.pay(&order).await;
        let t = Transition {
            order_id: order.id,
            from: OrderStatus::Pending,
            to: OrderStatus::Paid,
            reason: "test".into(),
            upstream: UpstreamFields::default(),
            at: Timestamp::now(),
        };
        match self.store.transition(&t).await.unwrap() {
            TransitionOutcome::Applied { order, .. } => order,
            TransitionOutcome::Lost(order) => panic!("lost: {order:?}"),
        }
    }

    /// A stored refund of `fen` of `order` (paid), reserved as the service does before it calls the
    /// channel.
    pub async fn refund(&self, order: &Order, out_refund_no: &str, fen: i64) -> Refund {
        let request = RefundRequest {
            out_refund_no: OutRefundNo::parse(out_refund_no).unwrap(),
            amount: Amount::parse(fen).unwrap(),
            reason: Some(RefundReason::parse("不想要了 & 退款").unwrap()),
            notify_url: None,
        };
        let new = NewRefund::prepare(order, request, Timestamp::now());
        match self.store.reserve_refund(&new, later()).await.unwrap() {
            ReserveOutcome::Reserved(refund) => refund,
            other => panic!("{other:?}"),
        }
    }

    pub async fn faults(&self, patch: Value) {
        let r = self
            .http
            .post(format!("{}/sim/faults", self.sim.base_url))
            .json(&patch)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    /// How many orders (WeChat Pay) and trades (Alipay) the simulator holds, from its state files.
    pub fn sim_orders(&self) -> (usize, usize) {
        let state = self.dir.path().join("sim");
        (
            test_support::sim::wechat_orders(&state).len(),
            test_support::sim::alipay_trades(&state).len(),
        )
    }

    pub fn wechat_merchant_public_key(&self) -> RsaPublicKey {
        RsaPrivateKey::from_pem(&self.keys.wechat_merchant_key_pem)
            .unwrap()
            .public_key()
            .unwrap()
    }

    pub fn alipay_app_public_key(&self) -> RsaPublicKey {
        RsaPrivateKey::from_pem(&self.keys.alipay_app_private_key_pem)
            .unwrap()
            .public_key()
            .unwrap()
    }

    /// The simulator's view of an Alipay trade (control API).
    pub async fn alipay_trade(&self, order: &Order) -> Value {
        self.http
            .get(format!(
                "{}/sim/alipay/trades/{}?app_id={}",
                self.sim.base_url,
                order.upstream_order_no.as_str(),
                self.keys.alipay_app_id
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// NotPaid before paying; Paid with the channel's transaction id (28 characters on both) and the
/// order's amount after. Returns the transaction id.
pub async fn pays_through_the_simulator(env: &Env, order: &Order) -> String {
    assert_eq!(
        env.channels.query(order).await.unwrap(),
        UpstreamStatus::NotPaid
    );
    env.pay(order).await;
    match env.channels.query(order).await.unwrap() {
        UpstreamStatus::Paid {
            transaction_id,
            paid_at,
            amount,
        } => {
            assert_eq!(transaction_id.len(), 28, "{transaction_id}");
            assert!(paid_at.is_some());
            assert_eq!(amount, Fen(AMOUNT_FEN));
            transaction_id
        }
        other => panic!("expected Paid, got {other:?}"),
    }
}

/// Closing twice is fine (on Alipay, ACQ.TRADE_STATUS_ERROR on the second close is told apart
/// from "paid" by a query); the order then reads as Closed.
pub async fn closes(env: &Env, order: &Order) {
    env.channels.close(order).await.unwrap();
    assert_eq!(
        env.channels.query(order).await.unwrap(),
        UpstreamStatus::Closed
    );
    env.channels.close(order).await.unwrap();
}

/// When a refund stored by a test is first checked: after the test is over, so that only the
/// test moves it.
fn later() -> Timestamp {
    Timestamp::now().plus(std::time::Duration::from_secs(3600))
}
