-- itsmkit PostgreSQL schema, version 5: dead letters in the outbox, and
-- idempotency keys.
--
-- A consumer that gives up on a message marks its claim dead: dead_at is
-- when, last_error why. Claim skips dead claims until the message is
-- replayed, which clears dead_at and the attempts.
ALTER TABLE outbox_claims ADD COLUMN dead_at timestamptz;
ALTER TABLE outbox_claims ADD COLUMN last_error text NOT NULL DEFAULT '';
CREATE INDEX outbox_claims_dead_idx ON outbox_claims (consumer, message_id) WHERE dead_at IS NOT NULL;

-- One row per idempotency key a committed write carried: the operation
-- it named, a digest of its request and its result, kept until
-- expires_at.
CREATE TABLE idempotency_keys (
    key        text COLLATE "C" NOT NULL CONSTRAINT idempotency_keys_pkey PRIMARY KEY,
    operation  text COLLATE "C" NOT NULL,
    request    text NOT NULL,
    result     text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at);
