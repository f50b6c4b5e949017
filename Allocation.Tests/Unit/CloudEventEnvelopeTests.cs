using System.Text;
using System.Text.Json;
using Allocation.Api.Contracts;
using Allocation.Application.Events;
using Allocation.Infrastructure.Messaging;
using Allocation.Infrastructure.Outbox;

namespace Allocation.Tests.Unit;

/// <summary>The broker's message body and the feed's event are one envelope: the same bytes, but for the feed's position.</summary>
public class CloudEventEnvelopeTests
{
    /// <summary>MVC's serializer settings: the Web defaults.</summary>
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Test]
    public void The_feed_serves_the_bytes_the_relay_publishes_plus_its_position()
    {
        // Stored text with spacing, characters the encoder escapes and microseconds, as PostgreSQL returns jsonb.
        const string stored = """{"orderid": "o<1>&+", "sku": "LAMPE-ÄÖ", "qty": 3, "eta": null}""";
        var occurredAt = new DateTime(2026, 1, 31, 9, 30, 0, DateTimeKind.Utc).AddTicks(1_234_560);
        var outboxEvent = new OutboxEvent(7, Guid.NewGuid(), "allocation.line.allocated", "LAMPE-ÄÖ", 4, occurredAt, stored);
        using var data = JsonDocument.Parse(stored);
        var feedEvent = new FeedEvent(
            outboxEvent.EventId, outboxEvent.Type, outboxEvent.Subject, outboxEvent.SkuSequence,
            new DateTimeOffset(occurredAt), data.RootElement, new FeedPosition(812, 7));

        var published = Encoding.UTF8.GetString(CloudEventJson.Serialize(outboxEvent));
        var served = JsonSerializer.Serialize(CloudEventResponse.From(feedEvent), Web);

        served.Should().Be(published.Replace(",\"data\":", $",\"position\":\"{feedEvent.Position}\",\"data\":", StringComparison.Ordinal));
        published.Should().StartWith("{\"specversion\":\"1.0\",\"id\":").And.Contain("\"time\":\"2026-01-31T09:30:00.123456Z\"");
    }
}
