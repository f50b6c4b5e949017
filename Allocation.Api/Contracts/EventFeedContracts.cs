using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Allocation.Application.Events;
using FluentValidation;
using Microsoft.AspNetCore.Mvc;

namespace Allocation.Api.Contracts;

/// <summary>Where to read the feed from, and how much.</summary>
public sealed class EventFeedQuery
{
    /// <summary>The <c>cursor</c> of the last page read (or the <c>position</c> of the last event handled); leave out to start from the oldest event kept.</summary>
    /// <example>7845-1203</example>
    [FromQuery(Name = "after")]
    public string? After { get; init; }

    /// <summary>How many events at most, 1 to 1,000; 100 when left out.</summary>
    /// <example>100</example>
    [FromQuery(Name = "limit")]
    public int? Limit { get; init; }
}

internal sealed class EventFeedQueryValidator : AbstractValidator<EventFeedQuery>
{
    internal const string NotACursor = "'after' must be a cursor this feed returned.";

    public EventFeedQueryValidator()
    {
        RuleFor(q => q.After)
            .Must(after => after is null || FeedPosition.TryParse(after, out _))
            .WithMessage(NotACursor)
            .OverridePropertyName("after");
        RuleFor(q => q.Limit)
            .InclusiveBetween(1, EventFeedService.MaxLimit)
            .OverridePropertyName("limit");
    }
}

/// <summary>A page of events, oldest first.</summary>
/// <param name="Cursor">Pass as <c>after</c> to read on. The last event's position; when there are no new events, the <c>after</c> given (null at the start).</param>
/// <param name="Events">CloudEvents 1.0, in the order they are to be applied.</param>
public sealed record EventFeedResponse(
    [property: JsonPropertyName("cursor")] string? Cursor,
    [property: JsonPropertyName("events")] IReadOnlyList<CloudEventResponse> Events)
{
    internal static EventFeedResponse From(EventPage page) =>
        new(page.Cursor?.ToString(), [.. page.Events.Select(CloudEventResponse.From)]);
}

/// <summary>One event in CloudEvents 1.0 JSON format (the same envelope RabbitMQ consumers receive, plus <c>position</c>).</summary>
/// <param name="SpecVersion">Always "1.0".</param>
/// <param name="Id">Unique and stable: deduplicate by it.</param>
/// <param name="Source">Always "/allocation".</param>
/// <param name="Type">allocation.batch.created, allocation.batch.changed, allocation.line.allocated, allocation.line.deallocated, allocation.line.reallocated or allocation.out_of_stock.</param>
/// <param name="Time">When the change was made (RFC 3339).</param>
/// <param name="Subject">The SKU.</param>
/// <param name="DataContentType">Always "application/json".</param>
/// <param name="SkuSequence">Extension attribute: 1, 2, 3, ... per SKU in commit order; apply a SKU's events in this order.</param>
/// <param name="Position">Extension attribute: this event's place in the feed, usable as <c>after</c>.</param>
/// <param name="Data">The event's data (README "Events" lists each type's fields).</param>
public sealed record CloudEventResponse(
    [property: JsonPropertyName("specversion")] string SpecVersion,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("time")] string Time,
    [property: JsonPropertyName("subject")] string Subject,
    [property: JsonPropertyName("datacontenttype")] string DataContentType,
    [property: JsonPropertyName("skusequence")] long SkuSequence,
    [property: JsonPropertyName("position")] string Position,
    [property: JsonPropertyName("data")] JsonElement Data)
{
    internal static CloudEventResponse From(FeedEvent e) => new(
        "1.0",
        e.Id.ToString(),
        "/allocation",
        e.Type,
        e.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
        e.Subject,
        "application/json",
        e.SkuSequence,
        e.Position.ToString(),
        e.Data);
}
