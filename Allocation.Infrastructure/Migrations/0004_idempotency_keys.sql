-- Idempotency-Key: a caller's key, a hash of the request it came with, and the answer the service
-- gave, written by the transaction that made the change, so a key exists exactly when its change
-- committed. A repeat with the same key reads the answer back instead of deciding again. Rows live
-- until expires_at (the configured retention) and are deleted in small batches after it.
CREATE TABLE idempotency_keys (
    caller       varchar(300) NOT NULL,
    key          varchar(255) NOT NULL,
    request_hash bytea        NOT NULL,
    answer       text         NOT NULL,
    created_at   timestamptz  NOT NULL DEFAULT now(),
    expires_at   timestamptz  NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (caller, key)
);
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);
