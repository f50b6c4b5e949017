using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Allocation.Application;
using Allocation.Application.Common;
using Allocation.Infrastructure.Messaging;
using Allocation.Infrastructure.Persistence;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Allocation.Infrastructure.Outbox;

/// <summary>The feed's hold-back settings (configuration section <c>Events</c>).</summary>
public sealed class FeedOptions
{
    /// <summary>The "feed" health check is Degraded once a committed event has been held back from the feed longer than this.</summary>
    public TimeSpan FeedHeldDegradedAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often the hold-back behind the allocation.feed.* gauges is read from the database.</summary>
    public TimeSpan FeedSampleInterval { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>
/// What holds the feed back. The feed serves an event only once every transaction with a smaller
/// id has ended (<see cref="OutboxFeed"/>), on the whole cluster, any database: one transaction left
/// open anywhere keeps every event committed after it from readers. This reads how many committed
/// events wait for that, how long the oldest has waited, and which open transaction is the oldest.
/// </summary>
internal sealed class FeedHoldBackStore(NpgsqlDataSource dataSource)
{
    private static readonly TimeSpan StatementDeadline = TimeSpan.FromSeconds(3);

    /// <summary>Committed events at or beyond the snapshot's xmin: the feed does not serve them yet.</summary>
    private const string Held = """
        SELECT count(*) AS Events,
               coalesce(extract(epoch FROM clock_timestamp() - min(occurred_at)), 0)::float8 AS OldestSeconds
        FROM outbox
        WHERE txid >= pg_snapshot_xmin(pg_current_snapshot())
        """;

    /// <summary>The oldest transaction that has a transaction id (only those hold the feed), as far as this role may see.</summary>
    private const string Holder = """
        SELECT pid AS Pid, coalesce(datname, '?') AS Database, coalesce(state, '?') AS State,
               coalesce(extract(epoch FROM clock_timestamp() - xact_start), 0)::float8 AS OpenSeconds
        FROM pg_stat_activity
        WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
        ORDER BY age(backend_xid) DESC
        LIMIT 1
        """;

    public Task<FeedHeld> ReadAsync(CancellationToken cancellationToken) =>
        StoreErrors.OnOwnConnectionAsync(
            dataSource,
            StatementDeadline,
            async (connection, token) =>
            {
                var (events, oldest) = await connection.QuerySingleAsync<(long, double)>(new CommandDefinition(Held, cancellationToken: token));
                var holder = events == 0
                    ? null
                    : await connection.QuerySingleOrDefaultAsync<FeedHolder>(new CommandDefinition(Holder, cancellationToken: token));
                return new FeedHeld(events, TimeSpan.FromSeconds(oldest), holder);
            },
            cancellationToken);
}

/// <summary>Committed events the feed holds back, how long the oldest has waited, and the oldest open transaction (when visible).</summary>
internal sealed record FeedHeld(long Events, TimeSpan Oldest, FeedHolder? Holder)
{
    public string Describe(TimeSpan limit) =>
        string.Create(CultureInfo.InvariantCulture, $"The feed holds back {Events} committed event(s), the oldest for {Oldest.TotalSeconds:0} s (limit {limit.TotalSeconds:0} s): ") +
        (Holder is { } holder
            ? string.Create(CultureInfo.InvariantCulture,
                $"a transaction open for {holder.OpenSeconds:0} s (pid {holder.Pid}, database {holder.Database}, {holder.State}) has not ended. ")
            : "a transaction on the server has not ended. ") +
        "Events appear once it ends; the server's idle_in_transaction_session_timeout ends forgotten ones.";
}

internal sealed class FeedHolder
{
    public int Pid { get; init; }

    public string Database { get; init; } = "";

    public string State { get; init; } = "";

    public double OpenSeconds { get; init; }
}

/// <summary>
/// "feed": Degraded, never Unhealthy, when a committed event has been held back from the feed longer
/// than Events:FeedHeldDegradedAfter. The instance still serves everything else; the reason (which
/// transaction holds it) is the check's description, which the health service logs as a warning.
/// </summary>
internal sealed class FeedHealthCheck(FeedHoldBackStore store, IOptions<FeedOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken)
    {
        try
        {
            var held = await store.ReadAsync(cancellationToken);
            var limit = options.Value.FeedHeldDegradedAfter;
            return held.Events > 0 && held.Oldest > limit
                ? HealthCheckResult.Degraded(held.Describe(limit))
                : HealthCheckResult.Healthy();
        }
        catch (Exception error) when (error is StoreUnavailable or OperationCanceledException)
        {
            // The "postgresql" check reports the database itself.
            return HealthCheckResult.Degraded($"Cannot read the feed's hold-back: {error.Message}");
        }
    }
}

/// <summary>
/// Samples the feed's hold-back every Events:FeedSampleInterval for the allocation.feed.* gauges, so
/// that a scrape reads memory only. Like <see cref="OutboxBacklogMonitor"/>, it never stops the host:
/// a failed sample keeps the previous one and is tried again after a capped, jittered pause.
/// </summary>
internal sealed partial class FeedHoldBackMonitor : BackgroundService
{
    private readonly FeedHoldBackStore _store;
    private readonly TimeSpan _interval;
    private readonly ILogger<FeedHoldBackMonitor> _logger;
    private readonly FailureStreak _streak = new();
    private Sample? _last;

    public FeedHoldBackMonitor(FeedHoldBackStore store, IOptions<FeedOptions> options, IMeterFactory meterFactory, ILogger<FeedHoldBackMonitor> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(meterFactory);
        (_store, _interval, _logger) = (store, options.Value.FeedSampleInterval, logger);
        Retry = new Backoff(TimeSpan.FromSeconds(1), _interval);
        var meter = meterFactory.Create(RelayTelemetry.Name);
        meter.CreateObservableGauge(
            "allocation.feed.held_back_age", () => Observe(last => last.OldestNow.TotalSeconds), unit: "s",
            description: "How long the oldest committed event not yet served by GET /events has waited for an open transaction to end (0 when none).");
        meter.CreateObservableGauge(
            "allocation.feed.held_back", () => Observe(last => last.Held.Events), unit: "{event}",
            description: "Committed events GET /events does not serve yet because an older transaction is still open (last sample).");
    }

    internal Backoff Retry { get; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var wait = Jitter.FirstWait(_interval);
        while (await Pause.UntilAsync(wait, stoppingToken))
        {
            try
            {
                Volatile.Write(ref _last, new Sample(await _store.ReadAsync(stoppingToken), Stopwatch.GetTimestamp()));
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
                wait = Retry.Next();
                if (error is StoreUnavailable or OperationCanceledException)
                {
                    LogFailed(_logger, error.Message);
                }
                else if (_streak.IsNew(error))
                {
                    LogUnexpected(_logger, error, wait.TotalSeconds);
                }
                else
                {
                    LogUnexpectedAgain(_logger, Retry.Failures, wait.TotalSeconds, $"{error.GetType().Name}: {error.Message}");
                }
            }
        }
    }

    private IEnumerable<Measurement<T>> Observe<T>(Func<Sample, T> value)
        where T : struct =>
        Volatile.Read(ref _last) is { } last ? [new Measurement<T>(value(last))] : [];

    private sealed record Sample(FeedHeld Held, long SampledAt)
    {
        /// <summary>The oldest held event keeps ageing until the next sample says it was released.</summary>
        public TimeSpan OldestNow => Held.Events == 0 ? TimeSpan.Zero : Held.Oldest + Stopwatch.GetElapsedTime(SampledAt);
    }

    [LoggerMessage(EventId = 3301, Level = LogLevel.Debug, Message = "Events: could not read the feed's hold-back, keeping the last sample: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Error, Message = "Events: reading the feed's hold-back failed unexpectedly, next try in {RetrySeconds:0.#} s")]
    private static partial void LogUnexpected(ILogger logger, Exception error, double retrySeconds);

    [LoggerMessage(EventId = 3303, Level = LogLevel.Warning,
        Message = "Events: reading the feed's hold-back failed unexpectedly again ({Failures} failures in a row), next try in {RetrySeconds:0.#} s: {Reason}")]
    private static partial void LogUnexpectedAgain(ILogger logger, int failures, double retrySeconds, string reason);
}

public static class FeedHoldBackRegistration
{
    /// <summary>The feed's hold-back: the allocation.feed.* gauges and the "feed" health check (Degraded, never Unhealthy).</summary>
    public static IServiceCollection AddFeedHoldBack(this IServiceCollection services)
    {
        services.AddOptions<FeedOptions>().BindConfiguration("Events")
            .Validate(o => o.FeedHeldDegradedAfter > TimeSpan.Zero, "Events:FeedHeldDegradedAfter must be positive.")
            .Validate(o => o.FeedSampleInterval > TimeSpan.Zero, "Events:FeedSampleInterval must be positive.")
            .ValidateOnStart();
        services.AddMetrics();
        services.AddSingleton<FeedHoldBackStore>();
        services.AddHostedService<FeedHoldBackMonitor>();
        services.AddHealthChecks().AddCheck<FeedHealthCheck>(
            "feed", HealthStatus.Degraded, tags: [HealthTags.Ready], timeout: TimeSpan.FromSeconds(3));
        return services;
    }
}
