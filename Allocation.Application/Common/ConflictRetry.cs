using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Allocation.Application.Common;

/// <summary>
/// Runs a use case again, from a fresh read, when its commit lost a race with another writer of
/// the same product. Back-off is exponential with full jitter so that the losers of one race do
/// not collide again in lockstep.
/// </summary>
public sealed partial class ConflictRetry(IOptions<ConflictRetryOptions> options, ILogger<ConflictRetry> logger)
{
    private static readonly Meter Meter = new("Allocation.Application");
    private static readonly Counter<long> Retries = Meter.CreateCounter<long>("allocation.conflict_retries");

    private readonly ConflictRetryOptions _options = options.Value;

    public async Task<T> ExecuteAsync<T>(Func<CancellationToken, Task<T>> attempt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        for (var attemptNumber = 1; ; attemptNumber++)
        {
            try
            {
                return await attempt(cancellationToken);
            }
            catch (ConcurrencyConflict conflict) when (attemptNumber < _options.MaxAttempts)
            {
                var delay = NextDelay(attemptNumber);
                Retries.Add(1);
                LogRetry(logger, attemptNumber, delay.TotalMilliseconds, conflict.Message);
                await Task.Delay(delay, cancellationToken);
            }
            catch (ConcurrencyConflict conflict)
            {
                throw new ConcurrencyConflict(
                    $"The product kept changing under this request; gave up after {attemptNumber} attempts.", conflict);
            }
        }
    }

    private TimeSpan NextDelay(int attemptNumber)
    {
        var ceiling = Math.Min(
            _options.MaxDelay.TotalMilliseconds,
            _options.BaseDelay.TotalMilliseconds * Math.Pow(2, attemptNumber - 1));
#pragma warning disable CA5394 // Jitter, not security.
        return TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * ceiling);
#pragma warning restore CA5394
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug,
        Message = "Concurrency conflict on attempt {Attempt}; retrying in {DelayMs:F1} ms ({Reason})")]
    private static partial void LogRetry(ILogger logger, int attempt, double delayMs, string reason);
}
