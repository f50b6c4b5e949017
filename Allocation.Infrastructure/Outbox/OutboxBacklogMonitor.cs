using System.Diagnostics;
using System.Diagnostics.Metrics;
using Allocation.Application;
using Allocation.Application.Common;
using Allocation.Infrastructure.Messaging;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Allocation.Infrastructure.Outbox;

/// <summary>
/// Samples the outbox's backlog every Events:BacklogSampleInterval and publishes the last values as
/// gauges. A scrape reads memory only, so /metrics answers at once with the database down or frozen;
/// the age of the sample (allocation.outbox.sample_age) says how stale the numbers are, and the oldest
/// event's age keeps growing from its last sample, as it does while nothing can be published.
/// It never stops the host: a failed sample, whatever the exception, keeps the previous one and is
/// tried again after a capped, jittered pause (<see cref="Retry"/>); samples start at a random point
/// of the first interval and then come every interval ±10 %, so that instances do not query in step.
/// </summary>
internal sealed partial class OutboxBacklogMonitor : BackgroundService
{
    private readonly OutboxStore _store;
    private readonly TimeSpan _interval;
    private readonly ILogger<OutboxBacklogMonitor> _logger;
    private readonly FailureStreak _streak = new();
    private OutboxBacklog? _last;

    public OutboxBacklogMonitor(OutboxStore store, IOptions<EventsOptions> options, IMeterFactory meterFactory, ILogger<OutboxBacklogMonitor> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(meterFactory);
        (_store, _interval, _logger) = (store, options.Value.BacklogSampleInterval, logger);
        // From 1 s up to the interval itself: never less often than a healthy instance samples.
        Retry = new Backoff(TimeSpan.FromSeconds(1), _interval);
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

    /// <summary>Pauses after a failed sample.</summary>
    internal Backoff Retry { get; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var wait = Jitter.FirstWait(_interval);
        while (await Pause.UntilAsync(wait, stoppingToken))
        {
            try
            {
                await SampleAsync(stoppingToken);
                Retry.Reset();
                _streak.Ended();
                wait = Jitter.Period(_interval);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error)
            {
                // Everything else, bugs included: an exception out of ExecuteAsync would stop the host.
                // The previous sample stays, and its age shows how stale it is.
                wait = Retry.Next();
                Failed(error, wait);
            }
        }
    }

    /// <summary>Reads the backlog once and keeps it as the last sample.</summary>
    internal async Task SampleAsync(CancellationToken cancellationToken)
    {
        var (count, oldestAge) = await _store.BacklogAsync(cancellationToken);
        Volatile.Write(ref _last, new OutboxBacklog(count, oldestAge, Stopwatch.GetTimestamp()));
    }

    private void Failed(Exception error, TimeSpan retryIn)
    {
        if (error is StoreUnavailable or OperationCanceledException)
        {
            // An outage: the relay already warns about it, and sample_age shows it; so only at Debug here.
            LogFailed(_logger, error.Message);
        }
        else if (_streak.IsNew(error))
        {
            LogUnexpected(_logger, error, retryIn.TotalSeconds);
        }
        else
        {
            LogUnexpectedAgain(_logger, Retry.Failures, retryIn.TotalSeconds, $"{error.GetType().Name}: {BrokerErrors.Describe(error)}");
        }
    }

    private IEnumerable<Measurement<T>> Observe<T>(Func<OutboxBacklog, T> value)
        where T : struct =>
        Last is { } last ? [new Measurement<T>(value(last))] : [];

    [LoggerMessage(EventId = 3201, Level = LogLevel.Debug, Message = "Events: could not read the outbox backlog, keeping the last sample: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Error, Message = "Events: reading the outbox backlog failed unexpectedly, next try in {RetrySeconds:0.#} s")]
    private static partial void LogUnexpected(ILogger logger, Exception error, double retrySeconds);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Warning,
        Message = "Events: reading the outbox backlog failed unexpectedly again ({Failures} failures in a row), next try in {RetrySeconds:0.#} s: {Reason}")]
    private static partial void LogUnexpectedAgain(ILogger logger, int failures, double retrySeconds, string reason);
}

/// <summary>One reading of the outbox: how many events wait, how long the oldest had waited, and when it was taken.</summary>
internal sealed record OutboxBacklog(long Count, TimeSpan OldestAge, long SampledAt)
{
    public TimeSpan Age => Stopwatch.GetElapsedTime(SampledAt);

    /// <summary>The oldest event keeps ageing until the next sample says it went out.</summary>
    public TimeSpan OldestAgeNow => Count == 0 ? TimeSpan.Zero : OldestAge + Age;
}
