namespace Allocation.Infrastructure;

/// <summary>
/// The one retry pause of the service's background work (the relay, retention, the backlog gauges,
/// start-up migrations): capped exponential back-off with jitter. The ceiling starts at
/// <see cref="First"/> and doubles after each failure up to <see cref="Longest"/>; each pause is
/// drawn between half the ceiling and the ceiling, so that instances that failed together (a
/// database failover, a broker restart) do not all come back in the same instant, and a pause is
/// never longer than <see cref="Longest"/>. Not thread-safe: one per loop.
/// </summary>
public sealed class Backoff
{
    private readonly Random _random;
    private TimeSpan _ceiling;

    /// <param name="first">The ceiling of the first pause.</param>
    /// <param name="longest">The cap: no pause is longer. A <paramref name="first"/> above it is lowered to it.</param>
    /// <param name="random">Where the jitter comes from; tests pass a seeded one.</param>
    public Backoff(TimeSpan first, TimeSpan longest, Random? random = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(longest, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(first, TimeSpan.Zero);
        First = first < longest ? first : longest;
        Longest = longest;
        _ceiling = First;
        _random = random ?? Random.Shared;
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
        return Jitter.Between(ceiling / 2, ceiling, _random);
    }

    /// <summary>After a success: the next failure starts again from <see cref="First"/>.</summary>
    public void Reset()
    {
        _ceiling = First;
        Failures = 0;
    }
}

/// <summary>Random spreads for periodic background work, so that instances started together do not run together.</summary>
internal static class Jitter
{
    /// <summary>A pause drawn uniformly between <paramref name="low"/> and <paramref name="high"/>.</summary>
    public static TimeSpan Between(TimeSpan low, TimeSpan high, Random? random = null) =>
#pragma warning disable CA5394 // Jitter, not security.
        low + ((high - low) * (random ?? Random.Shared).NextDouble());
#pragma warning restore CA5394

    /// <summary>The first wait of a periodic task: anywhere within one period, so that a fleet started at once spreads over it.</summary>
    public static TimeSpan FirstWait(TimeSpan period, Random? random = null) => Between(TimeSpan.Zero, period, random);

    /// <summary>Every later wait: the period ±10 %, so that instances that happen to fall in step drift apart again.</summary>
    public static TimeSpan Period(TimeSpan period, Random? random = null) => Between(period * 0.9, period * 1.1, random);
}

/// <summary>The wait between rounds of background work.</summary>
internal static class Pause
{
    /// <summary>Waits <paramref name="wait"/>; false when the host is stopping, instead of an exception to tell apart from failures.</summary>
    public static async Task<bool> UntilAsync(TimeSpan wait, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(wait, stoppingToken);
            return true;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
