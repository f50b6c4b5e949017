-- The W3C trace context of the operation that wrote each event (a request or a command, when it was
-- traced), so that the message the relay publishes continues that trace rather than start its own.
-- Written by the statement that writes the event, as two of its parameters (ProductSql's version move,
-- CommandInbox's rejection); NULL when tracing was off. Both are text the service wrote from a parsed
-- context (traceparent 55 characters, tracestate at most 512), never taken raw from a message.
ALTER TABLE outbox
    ADD COLUMN traceparent text NULL,
    ADD COLUMN tracestate  text NULL;
