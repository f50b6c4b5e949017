using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Allocation.Application.Common;

/// <summary>
/// Runs a write of one SKU or of several (a whole order, taken in SKU order): queued behind this instance's other writes of each SKU
/// (<see cref="SkuWriteGate"/>), then run again from a fresh read when its commit lost a race with
/// another writer, all within <see cref="ConflictRetryOptions.Budget"/>. Back-off is exponential
/// with full jitter so that the losers of one race do not collide again in lockstep. A connection
/// that broke before anything was committed (a pooled connection the server had closed) costs the
/// caller nothing either: the use case runs again at once on a fresh one (a bounded number of times).
/// While no writable primary answers (a switchover or failover) and nothing was stored, the write is
/// tried again after short pauses for up to <see cref="ConflictRetryOptions.FailoverWait"/>.
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

    /// <summary>
    /// Runs a write of one SKU or several (a whole order) as one: it takes the turn of every SKU, in SKU
    /// order (ordinal), so two writes sharing SKUs never hold one turn each while waiting for the other's,
    /// and a conflict on any of them runs the whole attempt again.
    /// </summary>
    /// <param name="skus">
    /// The SKUs written: writes of one SKU take turns (repeats are ignored). None for a write that finds
    /// it has nothing to change but must still answer as a keyed request's first answer did: it queues
    /// behind nobody.
    /// </param>
    /// <param name="attempt">The whole use case, from its first read to its commit, on a fresh unit of work.</param>
    /// <param name="cancellationToken">The request's deadline.</param>
    /// <param name="safeToRepeat">
    /// Running the attempt again after its commit's outcome was lost does no harm (the use case finds
    /// its own earlier write and answers as the first time did): then a connection that broke during
    /// COMMIT is waited out like any other failover, instead of answering 503.
    /// </param>
    /// <exception cref="ConcurrencyConflict">
    /// One of the SKUs stayed contended for the whole budget: too many writers queued, or every attempt lost.
    /// </exception>
    /// <exception cref="StoreUnavailable">The database stayed away for the failover wait, or the write's outcome is unknown.</exception>
    public async Task<T> ExecuteAsync<T>(
        IReadOnlyCollection<string> skus, Func<CancellationToken, Task<T>> attempt, CancellationToken cancellationToken, bool safeToRepeat = false)
    {
        ArgumentNullException.ThrowIfNull(skus);
        ArgumentNullException.ThrowIfNull(attempt);
        var ordered = skus.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var started = Stopwatch.GetTimestamp();
        using var turn = await EnterAsync(ordered, started, cancellationToken);
        var conflictBackoff = new Backoff(_options.BaseDelay, _options.MaxDelay, fullJitter: true);
        var failoverBackoff = FailoverBackoff();
        var freshConnectionRetries = 0;
        for (var attemptNumber = 1; ; attemptNumber++)
        {
            var attemptStarted = Stopwatch.GetTimestamp();
            try
            {
                var result = await attempt(cancellationToken);
                turn.DatabaseAnswered();
                return result;
            }
            catch (ConcurrencyConflict conflict)
            {
                turn.DatabaseAnswered();
                var delay = conflictBackoff.Next();
                if (attemptNumber >= _options.MaxAttempts || Stopwatch.GetElapsedTime(started) + delay > _options.Budget)
                {
                    var lastAttempt = Stopwatch.GetElapsedTime(attemptStarted);
                    if (lastAttempt > _options.StuckWriteAfter || ordered.Any(sku => gate.StalledSince(sku, started)))
                    {
                        // A healthy write takes milliseconds: this one, or the ones ahead of it, waited seconds
                        // for the database (a row locked by a transaction stuck in its COMMIT, waiting for a
                        // lost standby) and then found the product moved on. The database stalled; the SKU
                        // is not contended.
                        throw new StoreUnavailable(
                            $"The database held this write or the ones ahead of it ({lastAttempt.TotalSeconds:0.#} s in its last attempt) before it lost the version check.",
                            conflict);
                    }

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
            catch (StoreUnavailable away) when (IsWorthWaitingFor(away, safeToRepeat)
                && NextFailoverPause(failoverBackoff, started) is { } delay)
            {
                // The database answered, only not as a writable primary: busy failing over, not hung.
                turn.DatabaseUnavailable();
                LogWaitingForPrimary(logger, delay.TotalMilliseconds, away.Message);
                await Task.Delay(delay, cancellationToken);
            }
            catch (Exception error) when (error is not (StoreUnavailable or OperationCanceledException))
            {
                // A refusal (out of stock, invalid SKU...) is an answer too: the database is not stuck.
                turn.DatabaseAnswered();
                throw;
            }
        }
    }

    /// <summary>
    /// Runs a read, again on a fresh connection when the one it had turned out to be broken, and again
    /// after short pauses while no primary answers (reads go to the primary: they must see every write).
    /// </summary>
    public async Task<T> ReadAsync<T>(Func<CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(read);
        var started = Stopwatch.GetTimestamp();
        var failoverBackoff = FailoverBackoff();
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
            catch (StoreUnavailable away) when (IsWorthWaitingFor(away, safeToRepeat: true)
                && NextFailoverPause(failoverBackoff, started) is { } delay)
            {
                LogWaitingForPrimary(logger, delay.TotalMilliseconds, away.Message);
                await Task.Delay(delay, cancellationToken);
            }
        }
    }

    /// <summary>
    /// A turn at the SKU within the contention budget, or, while the database is failing over (the
    /// writes ahead are waiting for a primary, not contending), within the failover wait.
    /// </summary>
    private async Task<SkuWriteGate.ITurn> EnterAsync(string sku, long started, CancellationToken cancellationToken)
    {
        var turn = await gate.TryEnterAsync(sku, _options.Budget - Stopwatch.GetElapsedTime(started), cancellationToken);
        if (turn is null && gate.WaitingForDatabase)
        {
            turn = await gate.TryEnterAsync(sku, _options.FailoverWait - Stopwatch.GetElapsedTime(started), cancellationToken);
        }

        return turn ?? throw gate.NoTurn(sku, Stopwatch.GetElapsedTime(started), started);
    }

    /// <summary>
    /// The turns of all the SKUs, taken one after the other in the order given (sorted: no two writes
    /// can each hold a turn the other waits for), all within the one budget.
    /// </summary>
    private async Task<SkuWriteGate.ITurn> EnterAsync(string[] orderedSkus, long started, CancellationToken cancellationToken)
    {
        if (orderedSkus.Length == 1)
        {
            return await EnterAsync(orderedSkus[0], started, cancellationToken);
        }

        var turns = new List<SkuWriteGate.ITurn>(orderedSkus.Length);
        try
        {
            foreach (var sku in orderedSkus)
            {
                turns.Add(await EnterAsync(sku, started, cancellationToken));
            }

            return new TurnSet(turns);
        }
        catch
        {
            new TurnSet(turns).Dispose();
            throw;
        }
    }

    private Backoff FailoverBackoff() => new(_options.FailoverFirstDelay, _options.FailoverMaxDelay);

    /// <summary>
    /// Nothing was stored and the database may come back (no host is a writable primary, the server
    /// restarts, refuses writes, or broke this connection again and again), or the outcome is unknown
    /// but the write is safe to repeat. Not a timeout (a hung server is not waited for twice) and not a
    /// commit the standby never confirmed (a repeat would report it as a success).
    /// </summary>
    private static bool IsWorthWaitingFor(StoreUnavailable failure, bool safeToRepeat) => failure.Fault switch
    {
        StoreFault.Unavailable or StoreFault.BrokenConnection => true,
        StoreFault.OutcomeUnknown => safeToRepeat,
        _ => false,
    };

    /// <returns>The pause before the next attempt, or null when it would end past the failover wait.</returns>
    private TimeSpan? NextFailoverPause(Backoff backoff, long started)
    {
        var delay = backoff.Next();
        return Stopwatch.GetElapsedTime(started) + delay < _options.FailoverWait ? delay : null;
    }

    /// <summary>The turns of several SKUs as one: every answer is reported on each, and they are given back in reverse.</summary>
    private sealed class TurnSet(List<SkuWriteGate.ITurn> turns) : SkuWriteGate.ITurn
    {
        public void DatabaseAnswered() => turns.ForEach(t => t.DatabaseAnswered());

        public void DatabaseUnavailable() => turns.ForEach(t => t.DatabaseUnavailable());

        public void Dispose()
        {
            for (var i = turns.Count - 1; i >= 0; i--)
            {
                turns[i].Dispose();
            }
        }
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug,
        Message = "Concurrency conflict on attempt {Attempt}; retrying in {DelayMs:F1} ms ({Reason})")]
    private static partial void LogRetry(ILogger logger, int attempt, double delayMs, string reason);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information,
        Message = "The database connection failed before anything was committed; running the request again on a fresh connection ({Reason})")]
    private static partial void LogFreshConnection(ILogger logger, string reason);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Debug,
        Message = "No writable primary; trying again in {DelayMs:F0} ms ({Reason})")]
    private static partial void LogWaitingForPrimary(ILogger logger, double delayMs, string reason);
}
