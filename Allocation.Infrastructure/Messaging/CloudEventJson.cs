using System.Text.Json;
using Allocation.Application.Events;
using Allocation.Infrastructure.Outbox;

namespace Allocation.Infrastructure.Messaging;

/// <summary>
/// An outbox event as a CloudEvents structured-mode AMQP message: the body is the
/// <see cref="CloudEvent"/> envelope GET /events serves, written by the same serializer.
/// </summary>
internal static class CloudEventJson
{
    /// <summary>The content type of a structured-mode message (CloudEvents AMQP binding).</summary>
    public const string StructuredContentType = "application/cloudevents+json; charset=utf-8";

    /// <summary>When the event happened, as PostgreSQL returned it (UTC).</summary>
    public static DateTimeOffset OccurredAt(OutboxEvent outboxEvent)
    {
        ArgumentNullException.ThrowIfNull(outboxEvent);
        return new DateTimeOffset(DateTime.SpecifyKind(outboxEvent.OccurredAt.ToUniversalTime(), DateTimeKind.Utc));
    }

    public static byte[] Serialize(OutboxEvent outboxEvent)
    {
        ArgumentNullException.ThrowIfNull(outboxEvent);
        // Parsed and written again rather than copied: compact whatever the stored text's spacing, as the feed serves it.
        using var data = JsonDocument.Parse(outboxEvent.Data);
        var envelope = CloudEvent.Of(
            outboxEvent.EventId, outboxEvent.Type, outboxEvent.Subject, outboxEvent.SkuSequence, OccurredAt(outboxEvent), data.RootElement);
        return JsonSerializer.SerializeToUtf8Bytes(envelope);
    }
}
