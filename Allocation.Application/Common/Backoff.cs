namespace Allocation.Application.Common;

/// <summary>
/// The one retry pause of the service: capped exponential back-off with jitter, used by requests (a
/// lost version check, the wait for a writable primary) and by background work (the relay,
/// retention, the backlog gauges, start-up migrations). The ceiling starts at <see cref="First"/> and
/// doubles after each failure up to <see cref="Longest"/>; each pause is drawn between half the
/// ceiling and the ceiling (or, with full jitter, between zero and the ceiling), so that whatever
/// failed together (the losers of one race, instances after a failover or a broker restart) does not
/// try again in the same instant, and a pause is never longer than <see cref="Longest"/>.
/// Not thread-safe: one per loop.
/// </summary>
public sealed class Backoff
{
    private readonly Random _random;
    private readonly bool _fullJitter;
    private TimeSpan _ceiling;

    /// <param name="first">The ceiling of the first pause (zero: no pauses at all).</param>
    /// <param name="longest">The cap: no pause is longer. A <paramref name="first"/> above it is lowered to it.</param>
    /// <param name="random">Where the jitter comes from; tests pass a seeded one.</param>
    /// <param name="fullJitter">
    /// Draw each pause from [0, ceiling] rather than [ceiling/2, ceiling]: for the losers of one race,
    /// who should spread out as much as possible rather than wait a minimum.
    /// </param>
    public Backoff(TimeSpan first, TimeSpan longest, Random? random = null, bool fullJitter = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(longest, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(first, TimeSpan.Zero);
        First = first < longest ? first : longest;
        Longest = longest;
        _ceiling = First;
        _random = random ?? Random.Shared;
        _fullJitter = fullJitter;
    }

    public TimeSpan First { get; }

    public TimeSpan Longest { get; }

    /// <summary>Failures since the last <see cref="Reset"/>: the pauses handed out in a row.</summary>
    public int Failures { get; private set; }

    /// <summary>The pause to take after a failure; the ceiling of the next one is twice as high, up to <see cref="Longest"/>.</summary>
    public TimeSpan Next()
    {
        var ceiling = _ceiling;
        _ceiling = TimeSpan.FromTicks(Math.Min(_ceiling.Ticks * 2, Longest.Ticks));
        Failures++;
        var low = _fullJitter ? TimeSpan.Zero : ceiling / 2;
#pragma warning disable CA5394 // Jitter, not security.
        return low + ((ceiling - low) * _random.NextDouble());
#pragma warning restore CA5394
    }

    /// <summary>After a success: the next failure starts again from <see cref="First"/>.</summary>
    public void Reset()
    {
        _ceiling = First;
        Failures = 0;
    }
}
