-- 0004_delivery: dead letters in the outbox, and idempotency keys.
--
-- A consumer that gives up on a message marks its claim dead: dead_at is
-- when, last_error why. Claim skips dead claims until the message is
-- replayed, which clears dead_at and the attempts.
ALTER TABLE outbox_claims ADD COLUMN dead_at INTEGER;
ALTER TABLE outbox_claims ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_claims_dead ON outbox_claims (consumer, message_id) WHERE dead_at IS NOT NULL;

-- One row per idempotency key a committed write carried: the operation
-- it named, a digest of its request and its result, kept until
-- expires_at.
CREATE TABLE idempotency_keys (
    key        TEXT    NOT NULL PRIMARY KEY,
    operation  TEXT    NOT NULL,
    request    TEXT    NOT NULL,
    result     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
