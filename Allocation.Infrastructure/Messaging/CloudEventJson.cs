using System.Globalization;
using System.Text.Json;
using Allocation.Infrastructure.Outbox;

namespace Allocation.Infrastructure.Messaging;

/// <summary>
/// The CloudEvents 1.0 structured JSON envelope of an outbox event, written by hand so that the
/// message carries exactly the attributes listed here, in the same shape as GET /events serves them.
/// </summary>
internal static class CloudEventJson
{
    public const string SpecVersion = "1.0";
    public const string Source = "/allocation";
    public const string DataContentType = "application/json";

    /// <summary>The content type of a structured-mode message (CloudEvents AMQP binding).</summary>
    public const string StructuredContentType = "application/cloudevents+json; charset=utf-8";

    /// <summary>The extension attribute carrying the per-SKU sequence (lower-case alphanumerics, as the spec requires).</summary>
    public const string SkuSequenceAttribute = "skusequence";

    /// <summary>RFC 3339 in UTC with PostgreSQL's microsecond precision, e.g. 2025-01-31T09:30:00.123456Z.</summary>
    public static string Time(DateTime occurredAt) =>
        DateTime.SpecifyKind(occurredAt.ToUniversalTime(), DateTimeKind.Utc)
            .ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public static byte[] Serialize(OutboxEvent outboxEvent)
    {
        ArgumentNullException.ThrowIfNull(outboxEvent);
        using var buffer = new MemoryStream(256 + outboxEvent.Data.Length);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("specversion", SpecVersion);
            json.WriteString("id", outboxEvent.EventId.ToString("D"));
            json.WriteString("source", Source);
            json.WriteString("type", outboxEvent.Type);
            json.WriteString("time", Time(outboxEvent.OccurredAt));
            json.WriteString("subject", outboxEvent.Subject);
            json.WriteString("datacontenttype", DataContentType);
            json.WriteNumber(SkuSequenceAttribute, outboxEvent.SkuSequence);
            json.WritePropertyName("data");
            // Parsed and written again rather than copied: compact whatever the stored text's spacing, as the feed serves it.
            using (var data = JsonDocument.Parse(outboxEvent.Data))
            {
                data.RootElement.WriteTo(json);
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
