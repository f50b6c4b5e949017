-- One row per SKU: the aggregate root and its optimistic-concurrency version.
CREATE TABLE products (
    sku            varchar(255) PRIMARY KEY,
    version_number integer      NOT NULL DEFAULT 0
);

-- allocated_quantity is a running total maintained by the same transaction that writes
-- allocations, so reading a batch never sums its history. The check is the last line of
-- defence against overselling, whatever the application does.
CREATE TABLE batches (
    id                 bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference          varchar(255) NOT NULL,
    sku                varchar(255) NOT NULL REFERENCES products (sku),
    purchased_quantity integer      NOT NULL,
    eta                date         NULL,
    allocated_quantity integer      NOT NULL DEFAULT 0,
    CONSTRAINT batches_reference_key UNIQUE (reference),
    CONSTRAINT batches_purchased_quantity_positive CHECK (purchased_quantity > 0),
    CONSTRAINT batches_not_oversold CHECK (allocated_quantity BETWEEN 0 AND purchased_quantity)
);
CREATE INDEX batches_sku_idx ON batches (sku);

-- An order holds each SKU at most once: the unique key makes a repeated allocate idempotent
-- even when two API instances race on it.
CREATE TABLE order_lines (
    id      bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    orderid varchar(255) NOT NULL,
    sku     varchar(255) NOT NULL,
    qty     integer      NOT NULL,
    CONSTRAINT order_lines_orderid_sku_key UNIQUE (orderid, sku),
    CONSTRAINT order_lines_qty_positive CHECK (qty > 0)
);

CREATE TABLE allocations (
    orderline_id bigint PRIMARY KEY REFERENCES order_lines (id) ON DELETE CASCADE,
    batch_id     bigint NOT NULL REFERENCES batches (id)
);
CREATE INDEX allocations_batch_id_idx ON allocations (batch_id);
