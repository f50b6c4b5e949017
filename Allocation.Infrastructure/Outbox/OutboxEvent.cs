namespace Allocation.Infrastructure.Outbox;

/// <summary>One row of the outbox, as the relay publishes it.</summary>
/// <param name="Id">The row's position in the outbox (not the event's identity).</param>
/// <param name="EventId">The event's identity: the CloudEvents id and the AMQP message-id.</param>
/// <param name="Type">The CloudEvents type, also the routing key.</param>
/// <param name="Subject">The SKU.</param>
/// <param name="SkuSequence">1, 2, 3, ... per SKU in commit order.</param>
/// <param name="OccurredAt">When the change's transaction started (UTC).</param>
/// <param name="Data">The event's data object, as the JSON text PostgreSQL returns for the jsonb column.</param>
internal sealed record OutboxEvent(
    long Id, Guid EventId, string Type, string Subject, long SkuSequence, DateTime OccurredAt, string Data);
