-- The W3C trace context of the operation that wrote each event (a request or a command, when it was
-- traced), so that the message the relay publishes continues that trace rather than start its own.
-- The columns default to settings the writing transaction makes with set_config(..., true)
-- (OutboxSql.KeepTraceContext): every statement that writes events keeps them without naming them,
-- and a transaction that sets nothing (tracing off) stores NULL. A setting once made in a session
-- reads '' after its transaction, hence nullif. Both are text the service wrote from a parsed
-- context (traceparent 55 characters, tracestate at most 512), never taken raw from a message.
ALTER TABLE outbox
    ADD COLUMN traceparent text NULL DEFAULT nullif(current_setting('allocation.traceparent', true), ''),
    ADD COLUMN tracestate  text NULL DEFAULT nullif(current_setting('allocation.tracestate', true), '');
