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
public sealed record CloudEventResponse : CloudEvent
{
    private CloudEventResponse(CloudEvent envelope, string position)
        : base(envelope) => Position = position;

    /// <summary>Extension attribute: this event's place in the feed, usable as <c>after</c>.</summary>
    [JsonPropertyName("position")]
    [JsonPropertyOrder(ExtensionOrder)]
    public string Position { get; }

    internal static CloudEventResponse From(FeedEvent e) => new(Of(e), e.Position.ToString());
}
