-- The site's money as a double-entry ledger, and the operator's fee (PostgreSQL).
-- Keep in step with migrations/sqlite/0019_ledger.sql. The chart of accounts and the sign
-- convention (debit positive, credit negative) are described in `crates/gateway/src/domain/ledger.rs`.

-- The operator's fee per site: basis points of each paid order plus a fixed fee in fen. A site
-- without a row pays none. The fee of an order is computed once, when it is paid, from the row in
-- force then, and booked; changing the row later changes no booked fee.
CREATE TABLE site_fees (
    site_id     TEXT    PRIMARY KEY REFERENCES sites (id),
    rate_bps    BIGINT  NOT NULL CHECK (rate_bps BETWEEN 0 AND 10000),
    fixed_fen   BIGINT  NOT NULL CHECK (fixed_fen BETWEEN 0 AND 2147483647),
    updated_at  BIGINT  NOT NULL
);

-- One movement of money: what caused it (an order's payment or fee, a refund, later a split) and
-- how many entries it has. A cause is booked once per kind, whatever is retried.
CREATE TABLE ledger_movements (
    id           BIGSERIAL PRIMARY KEY,
    site_id      TEXT    NOT NULL REFERENCES sites (id),
    kind         TEXT    NOT NULL CHECK (kind IN ('payment', 'fee', 'refund', 'split')),
    cause        TEXT    NOT NULL CHECK (cause IN ('order', 'refund', 'split')),
    cause_id     BIGINT  NOT NULL,
    order_id     BIGINT  NOT NULL REFERENCES orders (id),
    entry_count  BIGINT  NOT NULL CHECK (entry_count >= 2),
    -- For a person: how an amount was arrived at (a fee's rate), never a secret.
    detail       TEXT    NOT NULL,
    at           BIGINT  NOT NULL,
    UNIQUE (cause, cause_id, kind),
    -- The entries' composite key below: an entry is always of its movement's site.
    UNIQUE (id, site_id)
);

CREATE INDEX ledger_movements_order ON ledger_movements (order_id);

-- The entries of the movements: signed fen, debit positive, credit negative; every movement's
-- entries sum to zero.
CREATE TABLE ledger_entries (
    id           BIGSERIAL PRIMARY KEY,
    movement_id  BIGINT  NOT NULL,
    site_id      TEXT    NOT NULL,
    account      TEXT    NOT NULL CHECK (account IN (
        'channel_clearing', 'site_balance.paid', 'site_balance.refunded', 'site_balance.fees',
        'site_balance.shared', 'operator.fee_income', 'receivers.splits_payable')),
    amount_fen   BIGINT  NOT NULL CHECK (amount_fen <> 0),
    at           BIGINT  NOT NULL,
    FOREIGN KEY (movement_id, site_id) REFERENCES ledger_movements (id, site_id)
);

CREATE INDEX ledger_entries_movement ON ledger_entries (movement_id);
-- A site's balance is the sums of its accounts.
CREATE INDEX ledger_entries_site_account ON ledger_entries (site_id, account);

-- A movement takes the number of entries it declared and no more, and once it has them all they
-- sum to zero: an unbalanced movement cannot be written, whoever writes it.
CREATE FUNCTION ledger_movement_balances() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    declared BIGINT;
    written  BIGINT;
    total    BIGINT;
BEGIN
    SELECT entry_count INTO declared FROM ledger_movements WHERE id = NEW.movement_id;
    SELECT COUNT(*), COALESCE(SUM(amount_fen), 0) INTO written, total
        FROM ledger_entries WHERE movement_id = NEW.movement_id;
    IF written > declared THEN
        RAISE EXCEPTION 'ledger movement % has more entries than the % it declared',
            NEW.movement_id, declared;
    END IF;
    IF written = declared AND total <> 0 THEN
        RAISE EXCEPTION 'ledger movement % does not sum to zero (%)', NEW.movement_id, total;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER ledger_entries_balance AFTER INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_movement_balances();

-- A booked movement is never changed or removed, not even by hand: a correction is a movement
-- of its own.
CREATE FUNCTION ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % is refused', TG_OP, TG_TABLE_NAME;
END;
$$;

CREATE TRIGGER ledger_movements_append_only BEFORE UPDATE OR DELETE ON ledger_movements
    FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER ledger_movements_truncated_never BEFORE TRUNCATE ON ledger_movements
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER ledger_entries_truncated_never BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only();

-- What was paid and refunded before the ledger existed, booked as it would have been then: a
-- payment for every order paid (or since refunded in full), a refund for every refund that
-- succeeded. No fee: none was in force.
INSERT INTO ledger_movements (site_id, kind, cause, cause_id, order_id, entry_count, detail, at)
    SELECT site_id, 'payment', 'order', id, id, 2, 'booked when the ledger was added',
           COALESCE(paid_at, updated_at)
    FROM orders WHERE status IN ('paid', 'refunded');
INSERT INTO ledger_movements (site_id, kind, cause, cause_id, order_id, entry_count, detail, at)
    SELECT site_id, 'refund', 'refund', id, order_id, 2, 'booked when the ledger was added',
           COALESCE(succeeded_at, updated_at)
    FROM refunds WHERE status = 'succeeded';
INSERT INTO ledger_entries (movement_id, site_id, account, amount_fen, at)
    SELECT m.id, m.site_id, 'channel_clearing', o.amount_fen, m.at
    FROM ledger_movements m JOIN orders o ON o.id = m.cause_id
    WHERE m.kind = 'payment';
INSERT INTO ledger_entries (movement_id, site_id, account, amount_fen, at)
    SELECT m.id, m.site_id, 'site_balance.paid', -o.amount_fen, m.at
    FROM ledger_movements m JOIN orders o ON o.id = m.cause_id
    WHERE m.kind = 'payment';
INSERT INTO ledger_entries (movement_id, site_id, account, amount_fen, at)
    SELECT m.id, m.site_id, 'site_balance.refunded', r.amount_fen, m.at
    FROM ledger_movements m JOIN refunds r ON r.id = m.cause_id
    WHERE m.kind = 'refund';
INSERT INTO ledger_entries (movement_id, site_id, account, amount_fen, at)
    SELECT m.id, m.site_id, 'channel_clearing', -r.amount_fen, m.at
    FROM ledger_movements m JOIN refunds r ON r.id = m.cause_id
    WHERE m.kind = 'refund';
