-- Stock changes: a cancelled shipment keeps its row (and what was allocated from it moves) with quantity 0.
ALTER TABLE batches DROP CONSTRAINT batches_purchased_quantity_positive;
ALTER TABLE batches ADD CONSTRAINT batches_purchased_quantity_not_negative CHECK (purchased_quantity >= 0);

-- The events of one SKU are numbered 1, 2, 3, ... in the order the product's changes committed:
-- the last number handed out, moved on by the same statement that moves the version on.
ALTER TABLE products ADD COLUMN last_event_sequence bigint NOT NULL DEFAULT 0;

-- Every event, written by the transaction that made the change it describes. data is json, not
-- jsonb: stored and served exactly as written, fields in their documented order.
-- txid is that transaction's id: the feed serves a row only once every transaction with a smaller
-- id has ended, in (txid, id) order, so a reader walking it with a cursor never skips a row that
-- commits late (ids are handed out at insert, not at commit). The relay claims unpublished rows
-- for a while (claimed_until) so that several instances share the work, and marks them published
-- after the broker confirmed them. event_id is a UUIDv7 the service generates (a millisecond clock and
-- 74 random bits): unique by construction, so it has no index to maintain on every change.
CREATE TABLE outbox (
    id            bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid          xid8         NOT NULL DEFAULT pg_current_xact_id(),
    event_id      uuid         NOT NULL,
    type          varchar(64)  NOT NULL,
    subject       varchar(255) NOT NULL,
    sku_sequence  bigint       NOT NULL,
    occurred_at   timestamptz  NOT NULL DEFAULT now(),
    data          json         NOT NULL,
    claimed_until timestamptz  NULL,
    published_at  timestamptz  NULL,
    CONSTRAINT outbox_subject_sequence_key UNIQUE (subject, sku_sequence),
    CONSTRAINT outbox_sku_sequence_positive CHECK (sku_sequence > 0)
);
CREATE INDEX outbox_feed_idx ON outbox (txid, id);
CREATE INDEX outbox_unpublished_idx ON outbox (txid, id) WHERE published_at IS NULL;
