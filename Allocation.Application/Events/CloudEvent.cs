using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Allocation.Application.Events;

/// <summary>
/// One event in CloudEvents 1.0 structured JSON: the one envelope, the body of the message the relay
/// publishes and each event GET /events serves (which adds its position, see
/// <see cref="ExtensionOrder"/>). Both are written by the same serializer from this type, so they
/// agree byte for byte where they overlap.
/// </summary>
/// <param name="SpecVersion">Always "1.0".</param>
/// <param name="Id">Unique and stable: deduplicate by it.</param>
/// <param name="Source">Always "/allocation".</param>
/// <param name="Type">allocation.batch.created, allocation.batch.changed, allocation.line.allocated, allocation.line.deallocated, allocation.line.reallocated or allocation.out_of_stock.</param>
/// <param name="Time">When the change was made (RFC 3339).</param>
/// <param name="Subject">The SKU.</param>
/// <param name="DataContentType">Always "application/json".</param>
/// <param name="SkuSequence">Extension attribute: 1, 2, 3, ... per SKU in commit order; apply a SKU's events in this order.</param>
/// <param name="Data">The event's data (README "Events" lists each type's fields).</param>
public record CloudEvent(
    [property: JsonPropertyName("specversion")] string SpecVersion,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("time")] string Time,
    [property: JsonPropertyName("subject")] string Subject,
    [property: JsonPropertyName("datacontenttype")] string DataContentType,
    [property: JsonPropertyName("skusequence")] long SkuSequence,
    [property: JsonPropertyName("data"), JsonPropertyOrder(CloudEvent.ExtensionOrder + 1)] JsonElement Data)
{
    public const string Version = "1.0";
    public const string ServiceSource = "/allocation";
    public const string JsonContentType = "application/json";

    /// <summary>The order of an attribute a reader adds (the feed's position): after the others, before <c>data</c>.</summary>
    protected const int ExtensionOrder = 1;

    /// <summary>The envelope of one stored event. Its data object is referred to, not copied: it must outlive the envelope's use.</summary>
    public static CloudEvent Of(Guid id, string type, string subject, long skuSequence, DateTimeOffset time, JsonElement data) =>
        new(Version, id.ToString("D"), ServiceSource, type, FormatTime(time), subject, JsonContentType, skuSequence, data);

    /// <summary>The envelope of an event the feed read.</summary>
    public static CloudEvent Of(FeedEvent feedEvent)
    {
        ArgumentNullException.ThrowIfNull(feedEvent);
        return Of(feedEvent.Id, feedEvent.Type, feedEvent.Subject, feedEvent.SkuSequence, feedEvent.Time, feedEvent.Data);
    }

    /// <summary>RFC 3339 in UTC with PostgreSQL's microsecond precision, e.g. 2025-01-31T09:30:00.123456Z.</summary>
    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
}
