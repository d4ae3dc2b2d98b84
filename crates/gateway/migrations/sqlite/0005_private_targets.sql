-- Private notify targets (SQLite): allowed per site by the operator, no longer for every site at
-- once, and each delivery attempt marked when its target was a non-public address, so that what
-- such a target answered (and where the site's name led) is shown to the operator only.
-- Keep in step with migrations/postgres/0005_private_targets.sql.

-- 1 when the site's notify URL may lead to loopback, private, link-local… addresses (a site on the
-- operator's own network); 0 for every site until the operator says otherwise.
ALTER TABLE sites
    ADD COLUMN allow_private_targets BIGINT NOT NULL DEFAULT 0
    CHECK (allow_private_targets IN (0, 1));

-- 1 when the attempt's target was a non-public address, reached or refused.
ALTER TABLE delivery_attempts
    ADD COLUMN private_target BIGINT NOT NULL DEFAULT 0
    CHECK (private_target IN (0, 1));

-- Refusals recorded before this migration name the address the site's URL resolved to.
UPDATE delivery_attempts SET private_target = 1 WHERE error LIKE 'refused: % resolves to %';
