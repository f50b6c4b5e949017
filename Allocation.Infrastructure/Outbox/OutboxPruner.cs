using Allocation.Application;
using Allocation.Application.Common;
using Allocation.Infrastructure.Messaging;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Allocation.Infrastructure.Outbox;

/// <summary>
/// Deletes events past Events:Retention, and Idempotency-Keys past their retention, every Events:PruneInterval, a small batch per statement
/// (SKIP LOCKED, so every instance may prune at once without waiting on each other). With a broker,
/// only published events go: an event the broker never confirmed is kept however old. It never stops
/// the host: a failed round, whatever the exception, is logged and tried again after a capped,
/// jittered pause (<see cref="Retry"/>); rounds start at a random point of the first interval and
/// then every interval ±10 %, so that instances started together do not prune together.
/// </summary>
internal sealed partial class OutboxPruner(
    OutboxStore store, IOptions<EventsOptions> options, bool publishedOnly, ILogger<OutboxPruner> logger) : BackgroundService
{
    /// <summary>Batches per round at most, so a huge first prune is spread over several rounds.</summary>
    private const int MaxBatchesPerRound = 100;

    private readonly EventsOptions _options = options.Value;
    private readonly FailureStreak _streak = new();

    /// <summary>Pauses after a failed round: from 1 s up to the interval itself, never less often than a healthy instance prunes.</summary>
    internal Backoff Retry { get; } = new(TimeSpan.FromSeconds(1), options.Value.PruneInterval);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        if (!publishedOnly)
        {
            LogFeedOnly(logger, _options.Retention.TotalDays);
        }

        var wait = Jitter.FirstWait(_options.PruneInterval);
        while (await Pause.UntilAsync(wait, stoppingToken))
        {
            try
            {
                await PruneExpiredAsync(stoppingToken);
                await PruneExpiredKeysAsync(stoppingToken);
                Retry.Reset();
                _streak.Ended();
                wait = Jitter.Period(_options.PruneInterval);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error)
            {
                // Everything else, bugs included: an exception out of ExecuteAsync would stop the host.
                wait = Retry.Next();
                Failed(error, wait);
            }
        }
    }

    /// <summary>Deletes expired events batch by batch until a batch comes back short; returns how many went.</summary>
    internal Task<int> PruneExpiredAsync(CancellationToken cancellationToken) =>
        InBatchesAsync(token => store.PruneAsync(_options.Retention, publishedOnly, _options.PruneBatchSize, token), cancellationToken);

    /// <summary>
    /// Deletes Idempotency-Keys past their retention the same way: like events, they are kept only as
    /// long as they may still be asked for (Idempotency:Retention), and go in the same rounds.
    /// </summary>
    internal Task<int> PruneExpiredKeysAsync(CancellationToken cancellationToken) =>
        InBatchesAsync(token => store.PruneIdempotencyKeysAsync(_options.PruneBatchSize, token), cancellationToken);

    private async Task<int> InBatchesAsync(Func<CancellationToken, Task<int>> deleteBatch, CancellationToken cancellationToken)
    {
        var total = 0;
        for (var round = 0; round < MaxBatchesPerRound; round++)
        {
            var deleted = await deleteBatch(cancellationToken);
            total += deleted;
            if (deleted < _options.PruneBatchSize)
            {
                break;
            }
        }

        return total;
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information,
        Message = "Events: no broker configured (ConnectionStrings:Broker), so GET /events is the only delivery; events are kept {RetentionDays:0.##} days")]
    private static partial void LogFeedOnly(ILogger logger, double retentionDays);

    private void Failed(Exception error, TimeSpan retryIn)
    {
        if (error is StoreUnavailable or OperationCanceledException)
        {
            // An outage (or a statement past its deadline): one line, no stack trace.
            LogFailed(logger, error.Message, retryIn.TotalSeconds);
        }
        else if (_streak.IsNew(error))
        {
            LogUnexpected(logger, error, retryIn.TotalSeconds);
        }
        else
        {
            LogUnexpectedAgain(logger, Retry.Failures, retryIn.TotalSeconds, $"{error.GetType().Name}: {BrokerErrors.Describe(error)}");
        }
    }

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Events: pruning failed, next try in {RetrySeconds:0.#} s: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason, double retrySeconds);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Error, Message = "Events: pruning failed unexpectedly, next try in {RetrySeconds:0.#} s")]
    private static partial void LogUnexpected(ILogger logger, Exception error, double retrySeconds);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Warning,
        Message = "Events: pruning failed unexpectedly again ({Failures} failures in a row), next try in {RetrySeconds:0.#} s: {Reason}")]
    private static partial void LogUnexpectedAgain(ILogger logger, int failures, double retrySeconds, string reason);
}
