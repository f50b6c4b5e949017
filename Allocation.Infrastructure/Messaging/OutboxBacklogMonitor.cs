using System.Diagnostics;
using System.Diagnostics.Metrics;
using Allocation.Application;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Allocation.Infrastructure.Messaging;

/// <summary>
/// Samples the outbox's backlog every Events:BacklogSampleInterval and publishes the last values as
/// gauges. A scrape reads memory only, so /metrics answers at once with the database down or frozen;
/// the age of the sample (allocation.outbox.sample_age) says how stale the numbers are, and the oldest
/// event's age keeps growing from its last sample, as it does while nothing can be published.
/// </summary>
internal sealed partial class OutboxBacklogMonitor : BackgroundService
{
    private readonly OutboxStore _store;
    private readonly TimeSpan _interval;
    private readonly ILogger<OutboxBacklogMonitor> _logger;
    private OutboxBacklog? _last;

    public OutboxBacklogMonitor(OutboxStore store, IOptions<EventsOptions> options, IMeterFactory meterFactory, ILogger<OutboxBacklogMonitor> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(meterFactory);
        (_store, _interval, _logger) = (store, options.Value.BacklogSampleInterval, logger);
        var meter = meterFactory.Create(RelayTelemetry.Name);
        meter.CreateObservableGauge(
            "allocation.outbox.backlog", () => Observe(last => last.Count), unit: "{event}",
            description: "Events not yet confirmed by the broker (last sample).");
        meter.CreateObservableGauge(
            "allocation.outbox.oldest_age", () => Observe(last => last.OldestAgeNow.TotalSeconds), unit: "s",
            description: "How long the oldest unpublished event has waited (0 when none waits).");
        meter.CreateObservableGauge(
            "allocation.outbox.sample_age", () => Observe(last => last.Age.TotalSeconds), unit: "s",
            description: "Time since the backlog was last read from the database.");
    }

    /// <summary>The last sample, or null before the first one succeeded.</summary>
    internal OutboxBacklog? Last => Volatile.Read(ref _last);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        using var timer = new PeriodicTimer(_interval);
        try
        {
            do
            {
                await SampleAsync(stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Reads the backlog once; on a database failure keeps the previous sample (its age shows).</summary>
    internal async Task SampleAsync(CancellationToken cancellationToken)
    {
        try
        {
            var (count, oldestAge) = await _store.BacklogAsync(cancellationToken);
            Volatile.Write(ref _last, new OutboxBacklog(count, oldestAge, Stopwatch.GetTimestamp()));
        }
        catch (Exception error) when (error is StoreUnavailable || (error is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogFailed(_logger, error.Message);
        }
    }

    private IEnumerable<Measurement<T>> Observe<T>(Func<OutboxBacklog, T> value)
        where T : struct =>
        Last is { } last ? [new Measurement<T>(value(last))] : [];

    [LoggerMessage(EventId = 3201, Level = LogLevel.Debug, Message = "Events: could not read the outbox backlog, keeping the last sample: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}

/// <summary>One reading of the outbox: how many events wait, how long the oldest had waited, and when it was taken.</summary>
internal sealed record OutboxBacklog(long Count, TimeSpan OldestAge, long SampledAt)
{
    public TimeSpan Age => Stopwatch.GetElapsedTime(SampledAt);

    /// <summary>The oldest event keeps ageing until the next sample says it went out.</summary>
    public TimeSpan OldestAgeNow => Count == 0 ? TimeSpan.Zero : OldestAge + Age;
}
