using Allocation.Application;
using Allocation.Application.Common;
using Allocation.Infrastructure.Outbox;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client.Exceptions;

namespace Allocation.Infrastructure.Messaging;

/// <summary>
/// Publishes the outbox to the broker: claim a batch (a short statement of its own), publish it with
/// publisher confirms, mark what the broker confirmed. No database transaction is open while the
/// broker is talked to, so a slow broker never holds back the feed. At least once: a crash between
/// confirm and mark publishes those events again once their claim has expired. It never stops the
/// host: every failure but shutdown, expected or a bug, is logged on one line and retried after a
/// capped, jittered pause (<see cref="Retry"/>), and writes never wait on it (they only fill the outbox).
/// </summary>
internal sealed partial class EventRelay(
    OutboxStore store,
    AmqpEventPublisher publisher,
    RelayState state,
    IOptions<EventsOptions> options,
    ILogger<EventRelay> logger) : BackgroundService
{
    /// <summary>
    /// The longest pause between tries. Short, because the pause after a long outage is also how long
    /// delivery waits once the broker or the database is back; a try costs one connection attempt.
    /// </summary>
    internal static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    private readonly EventsOptions _options = options.Value;
    private readonly FailureStreak _streak = new();

    /// <summary>Confirmed by the broker, not yet marked in the database (it failed): marked before anything new is claimed.</summary>
    private readonly List<long> _unmarked = [];

    /// <summary>Logs the next successful connection: the first one, and the first after an outage.</summary>
    private bool _wasDown = true;

    /// <summary>The pauses between failed rounds; tests shorten them.</summary>
    internal Backoff Retry { get; init; } = new(TimeSpan.FromMilliseconds(500), MaxRetryDelay);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan pause;
            try
            {
                var published = await PublishBatchAsync(stoppingToken);
                Retry.Reset();
                _streak.Ended();
                // A full batch means more may be waiting: go on at once. Otherwise a little under the idle
                // delay, at random, so that instances do not poll the outbox in step.
                pause = published == _options.RelayBatchSize
                    ? TimeSpan.Zero
                    : Jitter.Between(_options.RelayIdleDelay * 0.8, _options.RelayIdleDelay);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception error)
            {
                // Everything else, bugs included: an exception out of ExecuteAsync would stop the host.
                pause = Retry.Next();
                await FailedAsync(error, pause);
            }

            if (pause > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(pause, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        await MarkUnmarkedOnStopAsync();
        await ResetQuietlyAsync();
    }

    /// <summary>
    /// One round: mark what an earlier round could not, connect if need be, claim, publish, mark.
    /// Returns how many events it claimed. Throws when the broker or the database failed.
    /// </summary>
    internal async Task<int> PublishBatchAsync(CancellationToken cancellationToken)
    {
        await MarkUnmarkedAsync(cancellationToken);
        await ConnectAsync(cancellationToken);

        var batch = await store.ClaimAsync(_options.RelayBatchSize, _options.RelayLease, cancellationToken);
        if (batch.Count == 0)
        {
            return 0;
        }

        PublishOutcome outcome;
        using (var confirmDeadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            // Well inside the claim, so that no other instance takes these events while they may still be confirmed here.
            confirmDeadline.CancelAfter(_options.RelayLease / 2);
            outcome = await publisher.PublishAsync(batch, confirmDeadline.Token);
        }

        _unmarked.AddRange(outcome.Confirmed);
        await MarkUnmarkedAsync(cancellationToken);
        if (outcome.FirstFailure is not { } failure)
        {
            return batch.Count;
        }

        cancellationToken.ThrowIfCancellationRequested();
        var unconfirmed = batch.Select(e => e.Id).Except(outcome.Confirmed).ToList();
        // Handed back at once, so that the retry (here or on another instance) need not wait for the claim to expire.
        await store.ReleaseAsync(unconfirmed, cancellationToken);
        var summary = $"{unconfirmed.Count} of {batch.Count} events were not confirmed: {BrokerErrors.Describe(failure)}";
        throw failure is PublishException
            ? new BrokerRefused(summary, failure) // the broker answered with a nack: it is up, but took nothing
            : new BrokerUnavailable(summary, failure);
    }

    private async Task ConnectAsync(CancellationToken cancellationToken)
    {
        if (publisher.IsConnected)
        {
            return;
        }

        try
        {
            await publisher.ConnectAsync(cancellationToken);
        }
        catch (Exception error) when (!cancellationToken.IsCancellationRequested && BrokerErrors.IsExpected(error))
        {
            throw new BrokerUnavailable($"Cannot connect to the broker: {BrokerErrors.Describe(error)}", error);
        }

        state.Connected();
        if (_wasDown)
        {
            _wasDown = false;
            LogConnected(logger);
        }
    }

    private async Task MarkUnmarkedAsync(CancellationToken cancellationToken)
    {
        if (_unmarked.Count == 0)
        {
            return;
        }

        await store.MarkPublishedAsync(_unmarked, cancellationToken);
        _unmarked.Clear();
    }

    private async Task MarkUnmarkedOnStopAsync()
    {
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await MarkUnmarkedAsync(deadline.Token);
        }
        catch (Exception error)
        {
            // They will be published again after their claim expires: at least once.
            LogUnmarkedAtStop(logger, _unmarked.Count, BrokerErrors.Describe(error));
        }
    }

    /// <summary>Never throws: it is called from the loop's failure path, where an exception would end the relay.</summary>
    private async Task FailedAsync(Exception error, TimeSpan retryIn)
    {
        var seconds = retryIn.TotalSeconds;
        switch (error)
        {
            case BrokerRefused:
                LogRefused(logger, error.Message, seconds);
                break;
            case BrokerUnavailable:
                _wasDown = true;
                state.Failing(error.Message);
                await ResetQuietlyAsync();
                LogBrokerDown(logger, error.Message, seconds);
                break;
            case StoreUnavailable:
                LogDatabaseDown(logger, error.Message, seconds);
                break;
            case OperationCanceledException:
                LogDatabaseDown(logger, $"no answer within {OutboxStore.StatementDeadline.TotalSeconds:0} s", seconds);
                break;
            default:
                // A bug, not an outage: the stack trace is wanted, once per run of failures. The relay still carries on.
                _wasDown = true;
                state.Failing(error.Message);
                await ResetQuietlyAsync();
                if (_streak.IsNew(error))
                {
                    LogUnexpected(logger, error, seconds);
                }
                else
                {
                    LogUnexpectedAgain(logger, Retry.Failures, seconds, $"{error.GetType().Name}: {BrokerErrors.Describe(error)}");
                }

                break;
        }
    }

    /// <summary>Drops the connection; the publisher lets go of it before closing it, so a failure to close leaves nothing behind.</summary>
    private async Task ResetQuietlyAsync()
    {
        try
        {
            await publisher.ResetAsync();
        }
        catch (Exception error)
        {
            LogResetFailed(logger, $"{error.GetType().Name}: {BrokerErrors.Describe(error)}");
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Event relay: broker unavailable, retrying in {RetrySeconds:0.#} s: {Reason}")]
    private static partial void LogBrokerDown(ILogger logger, string reason, double retrySeconds);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Event relay: broker refused events, retrying in {RetrySeconds:0.#} s: {Reason}")]
    private static partial void LogRefused(ILogger logger, string reason, double retrySeconds);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Event relay: database unavailable, retrying in {RetrySeconds:0.#} s: {Reason}")]
    private static partial void LogDatabaseDown(ILogger logger, string reason, double retrySeconds);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Error, Message = "Event relay: unexpected failure, retrying in {RetrySeconds:0.#} s")]
    private static partial void LogUnexpected(ILogger logger, Exception error, double retrySeconds);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "Event relay: connected to the broker, publishing")]
    private static partial void LogConnected(ILogger logger);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning,
        Message = "Event relay: unexpected failure again ({Failures} failures in a row), retrying in {RetrySeconds:0.#} s: {Reason}")]
    private static partial void LogUnexpectedAgain(ILogger logger, int failures, double retrySeconds, string reason);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Warning, Message = "Event relay: closing the broker connection failed, a new one will be opened: {Reason}")]
    private static partial void LogResetFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "Event relay: {Count} confirmed events could not be marked at shutdown and will be published again: {Reason}")]
    private static partial void LogUnmarkedAtStop(ILogger logger, int count, string reason);
}
