using Allocation.Application;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Allocation.Infrastructure.Messaging;

/// <summary>
/// Deletes events past Events:Retention every Events:PruneInterval, a small batch per statement
/// (SKIP LOCKED, so every instance may prune at once without waiting on each other). With a broker,
/// only published events go: an event the broker never confirmed is kept however old.
/// </summary>
internal sealed partial class OutboxPruner(
    OutboxStore store, IOptions<EventsOptions> options, bool publishedOnly, ILogger<OutboxPruner> logger) : BackgroundService
{
    /// <summary>Batches per round at most, so a huge first prune is spread over several rounds.</summary>
    private const int MaxBatchesPerRound = 100;

    private readonly EventsOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        if (!publishedOnly)
        {
            LogFeedOnly(logger, _options.Retention.TotalDays);
        }

        using var timer = new PeriodicTimer(_options.PruneInterval);
        try
        {
            do
            {
                try
                {
                    await PruneExpiredAsync(stoppingToken);
                }
                catch (Exception error) when (error is StoreUnavailable || (error is OperationCanceledException && !stoppingToken.IsCancellationRequested))
                {
                    LogFailed(logger, error.Message, _options.PruneInterval.TotalSeconds);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Deletes expired events batch by batch until a batch comes back short; returns how many went.</summary>
    internal async Task<int> PruneExpiredAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        for (var round = 0; round < MaxBatchesPerRound; round++)
        {
            var deleted = await store.PruneAsync(_options.Retention, publishedOnly, _options.PruneBatchSize, cancellationToken);
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

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Events: pruning failed, next try in {IntervalSeconds:0} s: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason, double intervalSeconds);
}
