using System.Text.Json;

namespace Allocation.Application.Events;

/// <summary>One stored event, as the feed serves it.</summary>
/// <param name="Id">Unique and stable: the same event always has the same id, wherever it is delivered.</param>
/// <param name="Type">What happened, e.g. <c>allocation.line.allocated</c>.</param>
/// <param name="Subject">The SKU.</param>
/// <param name="SkuSequence">1, 2, 3, ... per SKU, in the order the SKU's changes committed.</param>
/// <param name="Time">When the change was made.</param>
/// <param name="Data">The event's data object.</param>
/// <param name="Position">Where it sits in the feed.</param>
public sealed record FeedEvent(
    Guid Id, string Type, string Subject, long SkuSequence, DateTimeOffset Time, JsonElement Data, FeedPosition Position);

/// <summary>A page of the feed and the cursor to read the next one from.</summary>
/// <param name="Events">Oldest first.</param>
/// <param name="Cursor">The last event's position; when the page is empty, the position read from (null at the start).</param>
public sealed record EventPage(IReadOnlyList<FeedEvent> Events, FeedPosition? Cursor);
