//! The ledger: payments, fees and refunds booked with the state change that causes them, once,
//! balanced, never changed; each site's balance its own.

#![allow(clippy::unwrap_used)] // test helpers: a failed set-up step is a failing test

use gateway::domain::{
    Actor, Amount, AuditAction, AuditEntry, Balance, FeeSchedule, NewRefund, Order, OrderRequest,
    OrderStatus, OutRefundNo, RefundRequest, RefundStatus, Site, UpstreamFields,
};
use gateway::store::{
    FinishOutcome, InsertOutcome, RefundFinish, ReserveOutcome, Store, Transition,
};

use crate::on_both_backends;
use crate::support::{Backend, TestDb, insert, new_site, now, seed_request};

async fn set_fee(store: &Store, site: &Site, rate_bps: i64, fixed_fen: i64) {
    let audit =
        AuditEntry::new(now(), Actor::Cli, AuditAction::SiteFee).on("site", site.id.as_str());
    let schedule = FeeSchedule::parse(rate_bps, fixed_fen).unwrap();
    store
        .set_site_fee(&site.id, schedule, now(), &audit)
        .await
        .unwrap();
}

fn step(order: &Order, from: OrderStatus, to: OrderStatus) -> Transition {
    Transition {
        order_id: order.id,
        from,
        to,
        reason: "test".into(),
        upstream: UpstreamFields::default(),
        at: now(),
    }
}

/// A pending order of `fen`, not yet paid.
async fn pending_order(store: &Store, site: &Site, out_trade_no: &str, fen: i64) -> Order {
    let request = OrderRequest {
        amount: Amount::parse(fen).unwrap(),
        ..seed_request(out_trade_no)
    };
    let InsertOutcome::Inserted(order) = insert(store, site, request).await else {
        panic!("{out_trade_no} existed");
    };
    let t = step(&order, OrderStatus::Created, OrderStatus::Pending);
    store.transition(&t).await.unwrap().into_order()
}

async fn paid_order(store: &Store, site: &Site, out_trade_no: &str, fen: i64) -> Order {
    let order = pending_order(store, site, out_trade_no, fen).await;
    let outcome = store
        .transition(&step(&order, OrderStatus::Pending, OrderStatus::Paid))
        .await
        .unwrap();
    assert!(outcome.won(), "{out_trade_no} was not paid");
    outcome.into_order()
}

/// A refund of `fen` of `order`, ended as `to`.
async fn refund(store: &Store, order: &Order, out_refund_no: &str, fen: i64, to: RefundStatus) {
    let request = RefundRequest {
        out_refund_no: OutRefundNo::parse(out_refund_no).unwrap(),
        amount: Amount::parse(fen).unwrap(),
        reason: None,
        notify_url: None,
    };
    let later = now().plus(std::time::Duration::from_secs(3600));
    let ReserveOutcome::Reserved(r) = store
        .reserve_refund(&NewRefund::prepare(order, request, now()), later)
        .await
        .unwrap()
    else {
        panic!("{out_refund_no} was not reserved");
    };
    let finish = RefundFinish {
        refund_id: r.id,
        to,
        channel_refund_id: None,
        error: None,
        at: now(),
    };
    let outcome = store.finish_refund(&finish).await.unwrap();
    assert!(
        matches!(outcome, FinishOutcome::Applied { .. }),
        "{outcome:?}"
    );
}

impl TestDb {
    /// The sum of every entry in the ledger, of every site: always zero.
    async fn ledger_sum(&self) -> i64 {
        self.count("SELECT COALESCE(CAST(SUM(amount_fen) AS BIGINT), 0) FROM ledger_entries")
            .await
    }

    async fn movements(&self, kind: &str) -> i64 {
        self.count(&format!(
            "SELECT COUNT(*) FROM ledger_movements WHERE kind = '{kind}'"
        ))
        .await
    }

    /// The balance figure `account`'s entries of `site` add up to, straight from the table.
    async fn account_sum(&self, site: &Site, account: &str) -> i64 {
        self.count(&format!(
            "SELECT COALESCE(CAST(SUM(amount_fen) AS BIGINT), 0) FROM ledger_entries \
             WHERE site_id = '{}' AND account = '{account}'",
            site.id.as_str()
        ))
        .await
    }
}

fn balance(paid: i64, refunded: i64, fees: i64) -> Balance {
    Balance {
        paid,
        refunded,
        fees,
        shared: 0,
    }
}

on_both_backends! {
    async fn a_paid_order_books_the_payment_and_the_operators_fee(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        set_fee(&db.store, &site, 60, 0).await;
        let order = pending_order(&db.store, &site, "order_ledger_001", 10_000).await;
        assert_eq!(db.store.site_balance(&site.id).await.unwrap(), Balance::default(), "nothing before payment");
        assert_eq!(db.count("SELECT COUNT(*) FROM ledger_entries").await, 0);

        db.store.transition(&step(&order, OrderStatus::Pending, OrderStatus::Paid)).await.unwrap();
        let b = db.store.site_balance(&site.id).await.unwrap();
        assert_eq!(b, balance(10_000, 0, 60));
        assert_eq!(b.net(), 9_940);
        assert_eq!(db.ledger_sum().await, 0);
        // Each figure is the sum of its account's entries.
        assert_eq!(db.account_sum(&site, "site_balance.paid").await, -10_000);
        assert_eq!(db.account_sum(&site, "site_balance.fees").await, 60);
        assert_eq!(db.account_sum(&site, "operator.fee_income").await, -60);
        assert_eq!(db.account_sum(&site, "channel_clearing").await, 10_000);
        // Two movements, each of two entries that sum to zero, each naming the order.
        assert_eq!((db.movements("payment").await, db.movements("fee").await), (1, 1));
        assert_eq!(db.count(&format!(
            "SELECT COUNT(*) FROM ledger_movements WHERE cause = 'order' AND cause_id = {0} AND order_id = {0}",
            order.id.as_i64()
        )).await, 2);
        assert_eq!(db.count(
            "SELECT COUNT(*) FROM (SELECT movement_id FROM ledger_entries GROUP BY movement_id \
             HAVING SUM(amount_fen) <> 0 OR COUNT(*) <> 2) unbalanced"
        ).await, 0);
    }

    async fn a_partial_refund_then_the_rest_are_booked_and_the_fee_is_kept(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        set_fee(&db.store, &site, 60, 0).await;
        let order = paid_order(&db.store, &site, "order_ledger_001", 10_000).await;
        refund(&db.store, &order, "r_failed", 5_000, RefundStatus::Failed).await;
        assert_eq!(db.store.site_balance(&site.id).await.unwrap(), balance(10_000, 0, 60), "a failed refund moves nothing");

        refund(&db.store, &order, "r_001", 3_000, RefundStatus::Succeeded).await;
        let b = db.store.site_balance(&site.id).await.unwrap();
        assert_eq!((b, b.net()), (balance(10_000, 3_000, 60), 6_940));
        assert_eq!(db.account_sum(&site, "site_balance.refunded").await, 3_000);
        assert_eq!(db.account_sum(&site, "channel_clearing").await, 7_000);

        refund(&db.store, &order, "r_002", 7_000, RefundStatus::Succeeded).await;
        assert_eq!(order_status(&db, &order).await, OrderStatus::Refunded);
        let b = db.store.site_balance(&site.id).await.unwrap();
        // All of it back to the payer; the fee is kept, so the site owes the operator.
        assert_eq!((b, b.net()), (balance(10_000, 10_000, 60), -60));
        assert_eq!(db.movements("refund").await, 2);
        assert_eq!(db.ledger_sum().await, 0);
    }

    async fn an_abnormal_refund_moves_no_money(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = paid_order(&db.store, &site, "order_ledger_001", 10_000).await;
        refund(&db.store, &order, "r_abnormal", 1_000, RefundStatus::Abnormal).await;
        assert_eq!(db.store.site_balance(&site.id).await.unwrap(), balance(10_000, 0, 0));
        assert_eq!(db.movements("refund").await, 0);
    }

    async fn a_full_refund_leaves_the_site_owing_the_fee(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        set_fee(&db.store, &site, 60, 0).await;
        let order = paid_order(&db.store, &site, "order_ledger_001", 10_000).await;
        refund(&db.store, &order, "r_all", 10_000, RefundStatus::Succeeded).await;
        let b = db.store.site_balance(&site.id).await.unwrap();
        assert_eq!((b, b.net()), (balance(10_000, 10_000, 60), -60));
        assert_eq!(db.account_sum(&site, "channel_clearing").await, 0, "the channel gave it all back");
        assert_eq!(db.ledger_sum().await, 0);
    }

    async fn the_same_payment_twice_is_booked_once(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        set_fee(&db.store, &site, 60, 0).await;
        let order = pending_order(&db.store, &site, "order_ledger_001", 10_000).await;
        let paid = step(&order, OrderStatus::Pending, OrderStatus::Paid);
        assert!(db.store.transition(&paid).await.unwrap().won());
        // The same callback again: the compare-and-set loses, and the ledger is untouched.
        assert!(!db.store.transition(&paid).await.unwrap().won());
        assert_eq!(db.store.site_balance(&site.id).await.unwrap(), balance(10_000, 0, 60));
        assert_eq!((db.movements("payment").await, db.movements("fee").await), (1, 1));
    }

    async fn a_query_and_a_callback_racing_book_the_payment_once(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        set_fee(&db.store, &site, 60, 0).await;
        let order = pending_order(&db.store, &site, "order_ledger_001", 10_000).await;
        let racers: Vec<_> = ["callback TRANSACTION.SUCCESS", "query SUCCESS", "callback TRANSACTION.SUCCESS", "query SUCCESS"]
            .into_iter()
            .map(|reason| {
                let store = db.store.clone();
                let t = Transition { reason: reason.to_owned(), ..step(&order, OrderStatus::Pending, OrderStatus::Paid) };
                tokio::spawn(async move { store.transition(&t).await.unwrap().won() })
            })
            .collect();
        let mut won = 0;
        for racer in racers {
            won += usize::from(racer.await.unwrap());
        }
        assert_eq!(won, 1);
        assert_eq!(db.store.site_balance(&site.id).await.unwrap(), balance(10_000, 0, 60));
        assert_eq!((db.movements("payment").await, db.movements("fee").await), (1, 1));
        assert_eq!(db.ledger_sum().await, 0);
    }

    async fn a_closed_order_the_channel_then_confirms_paid_is_booked_once(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = pending_order(&db.store, &site, "order_ledger_001", 2_990).await;
        db.store.transition(&step(&order, OrderStatus::Pending, OrderStatus::Closed)).await.unwrap();
        assert_eq!(db.count("SELECT COUNT(*) FROM ledger_movements").await, 0, "a close moves no money");
        let late = step(&order, OrderStatus::Closed, OrderStatus::Paid);
        assert!(db.store.transition(&late).await.unwrap().won());
        assert!(!db.store.transition(&late).await.unwrap().won());
        assert_eq!(db.store.site_balance(&site.id).await.unwrap(), balance(2_990, 0, 0));
        assert_eq!(db.movements("payment").await, 1);
        assert_eq!(db.movements("fee").await, 0, "no fee is set: nothing to book");
    }

    async fn a_transition_that_loses_the_race_books_nothing(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = pending_order(&db.store, &site, "order_ledger_001", 10_000).await;
        // The payer's payment and the expiry race; the expiry wins.
        db.store.transition(&step(&order, OrderStatus::Pending, OrderStatus::Closed)).await.unwrap();
        let stale = db.store.transition(&step(&order, OrderStatus::Pending, OrderStatus::Paid)).await.unwrap();
        assert!(!stale.won());
        assert_eq!(db.count("SELECT COUNT(*) FROM ledger_movements").await, 0);
        assert_eq!(db.count("SELECT COUNT(*) FROM ledger_entries").await, 0);
    }

    async fn when_the_ledger_cannot_be_written_the_order_is_not_paid(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = pending_order(&db.store, &site, "order_ledger_001", 10_000).await;
        // Posting reads the site's fee inside the transition's transaction: without its table the
        // posting fails, and the whole transition with it.
        db.execute("ALTER TABLE site_fees RENAME TO site_fees_away").await;
        let paid = step(&order, OrderStatus::Pending, OrderStatus::Paid);
        assert!(db.store.transition(&paid).await.is_err());
        assert_eq!(order_status(&db, &order).await, OrderStatus::Pending);
        let id = order.id.as_i64();
        assert_eq!(db.count(&format!("SELECT COUNT(*) FROM order_events WHERE order_id = {id} AND to_status = 'paid'")).await, 0);
        assert_eq!(db.count(&format!("SELECT COUNT(*) FROM notification_events WHERE order_id = {id}")).await, 0);
        assert_eq!(db.count("SELECT COUNT(*) FROM ledger_movements").await, 0);

        db.execute("ALTER TABLE site_fees_away RENAME TO site_fees").await;
        assert!(db.store.transition(&paid).await.unwrap().won());
        assert_eq!(db.store.site_balance(&site.id).await.unwrap(), balance(10_000, 0, 0));
    }

    async fn many_orders_paid_at_once_are_each_booked_once(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        set_fee(&db.store, &site, 60, 1).await;
        let mut orders = Vec::new();
        for i in 0..40 {
            orders.push(pending_order(&db.store, &site, &format!("order_many_{i:03}"), 1_000 + i).await);
        }
        // Each order paid by two racers (a callback and a query) at once, every order at once.
        let tasks: Vec<_> = orders
            .iter()
            .flat_map(|o| [o.clone(), o.clone()])
            .map(|order| {
                let store = db.store.clone();
                tokio::spawn(async move {
                    store.transition(&step(&order, OrderStatus::Pending, OrderStatus::Paid)).await.unwrap().won()
                })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            won += usize::from(task.await.unwrap());
        }
        assert_eq!(won, 40);
        let paid: i64 = (0..40).map(|i| 1_000 + i).sum();
        let fees: i64 = (0..40)
            .map(|i| FeeSchedule::parse(60, 1).unwrap().fee_of(Amount::parse(1_000 + i).unwrap()))
            .sum();
        assert_eq!(db.store.site_balance(&site.id).await.unwrap(), balance(paid, 0, fees));
        assert_eq!((db.movements("payment").await, db.movements("fee").await), (40, 40));
        assert_eq!(db.ledger_sum().await, 0);
    }

    async fn a_site_sees_only_its_own_balance(db: TestDb) {
        let shop = new_site(&db.store, "shop").await;
        let other = new_site(&db.store, "other").await;
        set_fee(&db.store, &shop, 60, 0).await;
        paid_order(&db.store, &shop, "order_ledger_001", 10_000).await;
        let theirs = paid_order(&db.store, &other, "order_ledger_001", 500).await;
        refund(&db.store, &theirs, "r_001", 200, RefundStatus::Succeeded).await;
        assert_eq!(db.store.site_balance(&shop.id).await.unwrap(), balance(10_000, 0, 60));
        assert_eq!(db.store.site_balance(&other.id).await.unwrap(), balance(500, 200, 0));
        assert_eq!(db.ledger_sum().await, 0);
        // Every entry is of its movement's site.
        assert_eq!(db.count(
            "SELECT COUNT(*) FROM ledger_entries e JOIN ledger_movements m ON m.id = e.movement_id \
             WHERE e.site_id <> m.site_id"
        ).await, 0);
    }

    async fn the_ledger_refuses_updates_deletes_and_unbalanced_movements(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        set_fee(&db.store, &site, 60, 0).await;
        let order = paid_order(&db.store, &site, "order_ledger_001", 10_000).await;
        for refused in [
            "UPDATE ledger_entries SET amount_fen = amount_fen * 2",
            "DELETE FROM ledger_entries",
            "UPDATE ledger_movements SET detail = 'changed'",
            "DELETE FROM ledger_movements",
        ] {
            assert!(db.try_execute(refused).await.is_err(), "{refused}");
        }
        assert_eq!(db.store.site_balance(&site.id).await.unwrap(), balance(10_000, 0, 60), "unchanged");

        // A movement written by hand must balance, and take no more entries than it declared.
        let s = site.id.as_str();
        let o = order.id.as_i64();
        db.execute(&format!(
            "INSERT INTO ledger_movements (site_id, kind, cause, cause_id, order_id, entry_count, detail, at) \
             VALUES ('{s}', 'split', 'split', 1, {o}, 2, 'by hand', 0)"
        )).await;
        let m = db.count("SELECT MAX(id) FROM ledger_movements").await;
        let entry = |account: &str, fen: i64| format!(
            "INSERT INTO ledger_entries (movement_id, site_id, account, amount_fen, at) \
             VALUES ({m}, '{s}', '{account}', {fen}, 0)"
        );
        db.execute(&entry("site_balance.shared", 100)).await;
        assert!(db.try_execute(&entry("receivers.splits_payable", -99)).await.is_err(), "unbalanced");
        db.execute(&entry("receivers.splits_payable", -100)).await;
        assert!(db.try_execute(&entry("receivers.splits_payable", -1)).await.is_err(), "a third entry");
        assert!(db.try_execute(&format!(
            "INSERT INTO ledger_entries (movement_id, site_id, account, amount_fen, at) VALUES ({m}, '{s}', 'cash', 5, 0)"
        )).await.is_err(), "an account not in the chart");
        // The same cause and kind cannot be booked twice.
        assert!(db.try_execute(&format!(
            "INSERT INTO ledger_movements (site_id, kind, cause, cause_id, order_id, entry_count, detail, at) \
             VALUES ('{s}', 'payment', 'order', {o}, {o}, 2, 'again', 0)"
        )).await.is_err());
        assert_eq!(db.store.site_balance(&site.id).await.unwrap(), Balance { shared: 100, ..balance(10_000, 0, 60) });
        assert_eq!(db.ledger_sum().await, 0);
    }

    async fn the_fee_is_rounded_half_up_at_the_edges_and_never_more_than_the_amount(db: TestDb) {
        // (rate bps, fixed fen, amount, fee)
        let cases = [
            (60, 0, 1, 0),          // 0.006 fen
            (60, 0, 84, 1),         // 0.504 fen: up
            (60, 0, 83, 0),         // 0.498 fen: down
            (200, 0, 25, 1),        // exactly 0.5 fen: up
            (200, 0, 75, 2),        // exactly 1.5 fen: up
            (0, 0, 10_000, 0),      // rate 0
            (0, 500, 100, 100),     // a fixed fee larger than the amount: the amount
            (10_000, 0, 1, 1),      // 100%
            (60, 30, 10_000, 90),
        ];
        for (i, (rate, fixed, amount, fee)) in cases.into_iter().enumerate() {
            let site = new_site(&db.store, &format!("site{i}")).await;
            set_fee(&db.store, &site, rate, fixed).await;
            paid_order(&db.store, &site, "order_fee_edge", amount).await;
            let b = db.store.site_balance(&site.id).await.unwrap();
            assert_eq!(b, balance(amount, 0, fee), "{rate} bps + {fixed} fen of {amount}");
            assert!(b.net() >= 0);
        }
        assert_eq!(db.ledger_sum().await, 0);
        assert_eq!(db.movements("fee").await, 6, "a fee of 0 books no movement");
    }

    async fn the_fee_is_the_one_in_force_when_the_order_is_paid(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = pending_order(&db.store, &site, "order_ledger_001", 10_000).await;
        set_fee(&db.store, &site, 60, 0).await;
        db.store.transition(&step(&order, OrderStatus::Pending, OrderStatus::Paid)).await.unwrap();
        set_fee(&db.store, &site, 100, 0).await;
        assert_eq!(db.store.site_fee(&site.id).await.unwrap(), FeeSchedule::parse(100, 0).unwrap());
        assert_eq!(db.store.site_balance(&site.id).await.unwrap(), balance(10_000, 0, 60), "booked once, kept");
        paid_order(&db.store, &site, "order_ledger_002", 10_000).await;
        assert_eq!(db.store.site_balance(&site.id).await.unwrap(), balance(20_000, 0, 160));
        assert_eq!(db.count("SELECT COUNT(*) FROM audit_log WHERE action = 'site.fee'").await, 2);
    }

    async fn what_was_paid_before_the_ledger_is_booked_by_its_migration(db: TestDb) {
        let shop = new_site(&db.store, "shop").await;
        let other = new_site(&db.store, "other").await;
        set_fee(&db.store, &shop, 60, 0).await;
        let order = paid_order(&db.store, &shop, "order_old_001", 10_000).await;
        refund(&db.store, &order, "r_old_001", 2_500, RefundStatus::Succeeded).await;
        refund(&db.store, &order, "r_old_002", 1_000, RefundStatus::Failed).await;
        let all_back = paid_order(&db.store, &other, "order_old_002", 500).await;
        refund(&db.store, &all_back, "r_old_003", 500, RefundStatus::Succeeded).await;
        pending_order(&db.store, &shop, "order_old_003", 700).await;
        // Back to a database that has never had a ledger, its orders and refunds kept, then
        // migrate again.
        let mut undo = vec!["DROP TABLE ledger_entries", "DROP TABLE ledger_movements", "DROP TABLE site_fees"];
        if db.backend == Backend::Postgres {
            undo.extend(["DROP FUNCTION ledger_movement_balances()", "DROP FUNCTION ledger_is_append_only()"]);
        }
        undo.push("DELETE FROM _sqlx_migrations WHERE version = 19");
        for sql in undo {
            db.execute(sql).await;
        }
        db.store.migrate().await.unwrap();
        // Every payment and succeeded refund booked, without fee: none was in force then.
        assert_eq!(db.store.site_balance(&shop.id).await.unwrap(), balance(10_000, 2_500, 0));
        assert_eq!(db.store.site_balance(&other.id).await.unwrap(), balance(500, 500, 0));
        assert_eq!((db.movements("payment").await, db.movements("refund").await, db.movements("fee").await), (2, 2, 0));
        assert_eq!(db.ledger_sum().await, 0);
        assert!(db.try_execute("DELETE FROM ledger_entries").await.is_err(), "and guarded as ever");
        // What is paid from now on is booked as usual, once.
        set_fee(&db.store, &shop, 60, 0).await;
        paid_order(&db.store, &shop, "order_new_001", 10_000).await;
        assert_eq!(db.store.site_balance(&shop.id).await.unwrap(), balance(20_000, 2_500, 60));
    }
}

async fn order_status(db: &TestDb, order: &Order) -> OrderStatus {
    db.store
        .order_refund_state(&order.site_id, order.id)
        .await
        .unwrap()
        .unwrap()
        .0
}
