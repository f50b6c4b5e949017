namespace Allocation.Application.Events;

/// <summary>The stored events, in the order a reader can rely on.</summary>
public interface IEventFeed
{
    /// <summary>
    /// Events after <paramref name="after"/> (from the start when null), oldest first. An event that
    /// commits later never takes a place before one already served, so a reader that walks the feed
    /// with the last position it saw never misses one. Throws <see cref="UnknownFeedPosition"/> when
    /// <paramref name="after"/> lies beyond anything the feed can have served; a position it served
    /// stays valid after its event is pruned.
    /// </summary>
    Task<IReadOnlyList<FeedEvent>> ReadAfterAsync(FeedPosition? after, int limit, CancellationToken cancellationToken);
}
