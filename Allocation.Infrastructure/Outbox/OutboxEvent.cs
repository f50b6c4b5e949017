using Allocation.Infrastructure.Telemetry;

namespace Allocation.Infrastructure.Outbox;

/// <summary>One row of the outbox, as the relay publishes it.</summary>
/// <param name="Id">The row's position in the outbox (not the event's identity).</param>
/// <param name="EventId">The event's identity: the CloudEvents id and the AMQP message-id.</param>
/// <param name="Type">The CloudEvents type, also the routing key.</param>
/// <param name="Subject">The SKU.</param>
/// <param name="SkuSequence">1, 2, 3, ... per SKU in commit order.</param>
/// <param name="OccurredAt">When the change's transaction started (UTC).</param>
/// <param name="Data">The event's data object, as the JSON text PostgreSQL returns for the jsonb column.</param>
/// <param name="TraceParent">The W3C traceparent of the operation that wrote the event, when it was traced (a request, a command); else null.</param>
/// <param name="TraceState">Its tracestate, if any.</param>
internal sealed record OutboxEvent(
    long Id, Guid EventId, string Type, string Subject, long SkuSequence, DateTime OccurredAt, string Data,
    string? TraceParent = null, string? TraceState = null)
{
    /// <summary>The trace its message continues; null when the writer was not traced (or the stored value cannot be read as one).</summary>
    public TraceContext? Writer => TraceContext.Parse(TraceParent, TraceState);
}
