using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Allocation.Application.Common;

/// <summary>
/// Runs a write of one SKU: queued behind this instance's other writes of the SKU
/// (<see cref="SkuWriteGate"/>), then run again from a fresh read when its commit lost a race with
/// another writer, all within <see cref="ConflictRetryOptions.Budget"/>. Back-off is exponential
/// with full jitter so that the losers of one race do not collide again in lockstep. A connection
/// that broke before anything was committed (a pooled connection the server had closed) costs the
/// caller nothing either: the use case runs again at once on a fresh one (a bounded number of times).
/// </summary>
public sealed partial class ConflictRetry(
    IOptions<ConflictRetryOptions> options, SkuWriteGate gate, ILogger<ConflictRetry> logger, AllocationMetrics? metrics = null)
{
    /// <summary>
    /// Runs on a fresh connection after a broken one. One is the intent; a few more because a burst of
    /// requests can draw several dead pooled connections before the pool has been cleared of them.
    /// </summary>
    internal const int FreshConnectionRetries = 3;

    private readonly ConflictRetryOptions _options = options.Value;

    /// <exception cref="ConcurrencyConflict">
    /// The SKU stayed contended for the whole budget: too many writers queued, or every attempt lost.
    /// </exception>
    public async Task<T> ExecuteAsync<T>(string sku, Func<CancellationToken, Task<T>> attempt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        var started = Stopwatch.GetTimestamp();
        using var turn = await gate.EnterAsync(sku, _options.Budget, cancellationToken);
        var freshConnectionRetries = 0;
        for (var attemptNumber = 1; ; attemptNumber++)
        {
            try
            {
                var result = await attempt(cancellationToken);
                turn.DatabaseAnswered();
                return result;
            }
            catch (Exception error) when (error is not (StoreUnavailable or OperationCanceledException))
            {
                turn.DatabaseAnswered();
                if (error is not ConcurrencyConflict conflict)
                {
                    throw;
                }

                var delay = NextDelay(attemptNumber);
                if (attemptNumber >= _options.MaxAttempts || Stopwatch.GetElapsedTime(started) + delay > _options.Budget)
                {
                    throw new ConcurrencyConflict(
                        $"The product kept changing under this request; gave up after {attemptNumber} attempts.", conflict);
                }

                metrics?.ConflictRetried();
                LogRetry(logger, attemptNumber, delay.TotalMilliseconds, conflict.Message);
                await Task.Delay(delay, cancellationToken);
            }
            catch (StoreUnavailable broken) when (broken.RetryAtOnce && freshConnectionRetries < FreshConnectionRetries)
            {
                freshConnectionRetries++;
                LogFreshConnection(logger, broken.InnerException?.Message ?? broken.Message);
            }
        }
    }

    /// <summary>Runs a read, again on a fresh connection when the one it had turned out to be broken.</summary>
    public async Task<T> ReadAsync<T>(Func<CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(read);
        for (var retries = 0; ; retries++)
        {
            try
            {
                return await read(cancellationToken);
            }
            catch (StoreUnavailable broken) when (broken.RetryAtOnce && retries < FreshConnectionRetries)
            {
                LogFreshConnection(logger, broken.InnerException?.Message ?? broken.Message);
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

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information,
        Message = "The database connection failed before anything was committed; running the request again on a fresh connection ({Reason})")]
    private static partial void LogFreshConnection(ILogger logger, string reason);
}
