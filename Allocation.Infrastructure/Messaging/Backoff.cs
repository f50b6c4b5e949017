namespace Allocation.Infrastructure.Messaging;

/// <summary>1 s, 2 s, 4 s ... up to 30 s between attempts while something stays down; back to 1 s after a success.</summary>
internal sealed class Backoff
{
    private readonly TimeSpan _first;
    private readonly TimeSpan _longest;
    private TimeSpan _next;

    public Backoff(TimeSpan first, TimeSpan longest)
    {
        (_first, _longest, _next) = (first, longest, first);
    }

    public Backoff()
        : this(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30))
    {
    }

    /// <summary>The delay to wait now; the one after it is twice as long.</summary>
    public TimeSpan Next()
    {
        var delay = _next;
        _next = TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, _longest.Ticks));
        return delay;
    }

    public void Reset() => _next = _first;
}
