namespace Allocation.Infrastructure;

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
