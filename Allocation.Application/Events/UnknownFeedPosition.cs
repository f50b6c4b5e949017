namespace Allocation.Application.Events;

/// <summary>
/// A cursor ahead of anything the feed can have served: a transaction that has not ended yet, or an
/// event number not handed out yet. It was not returned by this feed (corrupted, made up, or from
/// another database), and reading on from it would wait forever without an error.
/// </summary>
public sealed class UnknownFeedPosition(FeedPosition position)
    : Exception($"The feed has not served a position as far as {position}.")
{
    public FeedPosition Position { get; } = position;
}
