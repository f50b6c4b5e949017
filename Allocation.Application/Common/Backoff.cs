namespace Allocation.Application.Common;

/// <summary>
/// Exponential back-off with jitter, the one used wherever something is tried again: each delay's
/// ceiling doubles from <c>first</c> up to <c>longest</c>, and the delay is drawn at random below it,
/// so that the instances and requests that failed together do not try again together.
/// </summary>
/// <param name="first">The ceiling of the first delay.</param>
/// <param name="longest">The ceiling the delays grow to and stay at.</param>
/// <param name="fullJitter">
/// Draw from the whole range [0, ceiling] (losers of one race spread out as much as possible), rather
/// than [ceiling/2, ceiling] (a waiter that must not hammer what it waits for).
/// </param>
public sealed class Backoff(TimeSpan first, TimeSpan longest, bool fullJitter = false)
{
    private int _failures;

    /// <summary>The ceiling of the delay <see cref="Next"/> gives now.</summary>
    public TimeSpan Ceiling => TimeSpan.FromTicks(
        (long)Math.Min(longest.Ticks, first.Ticks * Math.Pow(2, Math.Min(_failures, 30))));

    /// <summary>The delay to wait now; the ceiling of the next one is twice as high (up to the longest).</summary>
    public TimeSpan Next()
    {
        var ceiling = Ceiling;
        _failures++;
#pragma warning disable CA5394 // Jitter, not security.
        var share = fullJitter ? Random.Shared.NextDouble() : 0.5 + (Random.Shared.NextDouble() / 2);
#pragma warning restore CA5394
        return TimeSpan.FromTicks((long)(ceiling.Ticks * share));
    }

    /// <summary>After a success: the next failure starts from the first delay again.</summary>
    public void Reset() => _failures = 0;
}
