using Allocation.Application.Common;

namespace Allocation.Application.Events;

/// <summary>Reading the event feed.</summary>
public sealed class EventFeedService(IEventFeed feed, ConflictRetry retry)
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public async Task<EventPage> ReadAsync(FeedPosition? after, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, MaxLimit);
        var events = await retry.ReadAsync(ct => feed.ReadAfterAsync(after, limit, ct), cancellationToken);
        return new EventPage(events, events.Count > 0 ? events[^1].Position : after);
    }
}
