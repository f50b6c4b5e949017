using System.Diagnostics;
using System.Threading.Channels;
using Allocation.Application;
using Allocation.Application.Common;
using Allocation.Application.Idempotency;
using Allocation.Infrastructure.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Allocation.Infrastructure.Messaging.Commands;

/// <summary>
/// Consumes allocation.commands with manual acks and a prefetch, one command at a time, and acks a
/// command only once its effect or its rejection has committed (with its inbox record), so a crash
/// at any point leaves the command in the queue and its redelivery changes nothing that committed.
/// <list type="bullet">
/// <item>Malformed (not a command envelope, unknown type, no id or time), an id reused with another command,
/// or a command older than the inbox remembers: dead-lettered at once, since no attempt could succeed (or
/// be known to be the first), and it cannot be tied to a product.</item>
/// <item>A transient failure (database down, timeout, the same command being handled elsewhere): tried
/// again in place after a capped, jittered pause, for as long as it lasts; it never counts against the
/// delivery limit, so an outage of the database dead-letters nothing.</item>
/// <item>An unexpected failure (a bug): returned to the queue after a pause; on its last allowed delivery
/// (Events:Commands:MaxDeliveries) dead-lettered instead, with a warning and a count. The queue's
/// x-delivery-limit dead-letters a command whose consumer died as many times (one that kills the process).</item>
/// </list>
/// Its own connection, without the client's automatic recovery (as the relay's): any broker failure
/// drops the connection, marks the consumer unhealthy and connects again after a pause. It never stops
/// the host: every failure but shutdown is logged and retried.
/// </summary>
internal sealed partial class CommandConsumer(
    Uri broker,
    CommandHandler handler,
    CommandConsumerState state,
    CommandTelemetry telemetry,
    IOptions<CommandConsumerOptions> options,
    ILogger<CommandConsumer> logger) : BackgroundService
{
    private readonly CommandConsumerOptions _options = options.Value;
    private readonly FailureStreak _streak = new();
    private bool _wasDown = true;

    /// <summary>The pauses between attempts to connect.</summary>
    internal Backoff Reconnect { get; init; } = new(options.Value.FirstRetryDelay, options.Value.LongestRetryDelay);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var session = await Session.OpenAsync(broker, _options, stoppingToken);
                state.Consuming();
                Reconnect.Reset();
                if (_wasDown)
                {
                    _wasDown = false;
                    LogConsuming(logger, CommandTopology.Queue, _options.Prefetch);
                }

                await foreach (var delivery in session.Deliveries.ReadAllAsync(stoppingToken))
                {
                    await HandleAsync(session, delivery, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception error)
            {
                _wasDown = true;
                var pause = Reconnect.Next();
                Failed(error, pause);
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

        state.Failing("stopped");
    }

    private async Task HandleAsync(Session session, Delivery delivery, CancellationToken stoppingToken)
    {
        CommandEnvelope command;
        try
        {
            command = CommandEnvelope.Parse(delivery.Body);
        }
        catch (MalformedCommand malformed)
        {
            using var unreadable = CommandTelemetry.StartProcess(delivery.Trace, delivery.MessageId, commandType: null, delivery.Number);
            await DeadLetterAsync(session, delivery, "malformed", delivery.MessageId, malformed.Message, stoppingToken);
            return;
        }

        // Handled in the sender's trace: the context in the message's headers (as the relay writes it), else
        // the envelope's distributed-tracing extension. Its events are written, and later published, in it too.
        using var span = CommandTelemetry.StartProcess(delivery.Trace ?? command.Trace, command.Id, command.Type, delivery.Number);

        var transient = new Backoff(_options.FirstRetryDelay, _options.LongestRetryDelay);
        while (true)
        {
            // Handled by an earlier delivery before this one reached us, on a channel since closed: the ack would fail, the queue has it again.
            session.ThrowIfClosed();
            CommandOutcome outcome;
            using (var attempt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
            {
                attempt.CancelAfter(_options.AttemptTimeout);
                try
                {
                    outcome = await handler.HandleAsync(command, attempt.Token);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    // Unacked: the broker gives it to another consumer, and the inbox makes that one's attempt safe.
                    throw;
                }
                catch (Exception error) when (error is MalformedCommand or CommandIdReused or CommandExpired)
                {
                    var reason = error switch
                    {
                        MalformedCommand => "malformed",
                        CommandIdReused => "id_reused",
                        _ => "expired",
                    };
                    await DeadLetterAsync(session, delivery, reason, command.Id, error.Message, stoppingToken);
                    return;
                }
                catch (Exception error) when (IsTransient(error))
                {
                    telemetry.Retried();
                    var pause = transient.Next();
                    LogTransient(logger, command.Id, pause.TotalSeconds, Describe(error));
                    await Task.Delay(pause, stoppingToken);
                    continue;
                }
                catch (Exception error)
                {
                    // A bug, or a failure nobody named: counted against the command's deliveries.
                    await UnexpectedAsync(session, delivery, command, error, transient.Next(), stoppingToken);
                    return;
                }
            }

            // Only now: its effect or its rejection, and its inbox record, have committed.
            await session.Channel.BasicAckAsync(delivery.Tag, multiple: false, stoppingToken);
            telemetry.Handled(outcome);
            CommandTelemetry.Ended(span, CommandTelemetry.OutcomeName(outcome));
            if (outcome == CommandOutcome.Rejected)
            {
                LogRejected(logger, command.Id, command.Type);
            }

            _streak.Ended();
            return;
        }
    }

    /// <summary>A failure that says nothing about the command: the same attempt may well succeed later.</summary>
    private static bool IsTransient(Exception error) =>
        error is StoreUnavailable or ConcurrencyConflict or IdempotencyKeyInUse or OperationCanceledException;

    private async Task UnexpectedAsync(
        Session session, Delivery delivery, CommandEnvelope command, Exception error, TimeSpan pause, CancellationToken stoppingToken)
    {
        if (delivery.Number >= _options.MaxDeliveries)
        {
            await DeadLetterAsync(
                session, delivery, "poison", command.Id, $"failed on each of {delivery.Number} deliveries, last: {Describe(error)}", stoppingToken);
            return;
        }

        if (_streak.IsNew(error))
        {
            LogUnexpectedCommand(logger, error, command.Id, delivery.Number, _options.MaxDeliveries, pause.TotalSeconds);
        }
        else
        {
            LogUnexpectedCommandAgain(logger, command.Id, delivery.Number, _options.MaxDeliveries, pause.TotalSeconds, Describe(error));
        }

        // A pause first, so that a command that fails at once does not spin through its deliveries.
        await Task.Delay(pause, stoppingToken);
        session.ThrowIfClosed();
        await session.Channel.BasicNackAsync(delivery.Tag, multiple: false, requeue: true, stoppingToken);
        CommandTelemetry.Ended(Activity.Current, "returned", failed: true);
    }

    private async Task DeadLetterAsync(
        Session session, Delivery delivery, string reason, string? commandId, string detail, CancellationToken stoppingToken)
    {
        session.ThrowIfClosed();
        await session.Channel.BasicRejectAsync(delivery.Tag, requeue: false, stoppingToken);
        telemetry.DeadLettered(reason);
        CommandTelemetry.Ended(Activity.Current, "dead_lettered_" + reason, failed: true);
        LogDeadLettered(logger, CommandTopology.DeadLetterQueue, commandId ?? "(none)", reason, delivery.Number, detail);
    }

    private void Failed(Exception error, TimeSpan retryIn)
    {
        state.Failing(Describe(error));
        if (error is BrokerUnavailable || BrokerErrors.IsExpected(error))
        {
            LogBrokerDown(logger, retryIn.TotalSeconds, Describe(error));
        }
        else if (_streak.IsNew(error))
        {
            LogUnexpected(logger, error, retryIn.TotalSeconds);
        }
        else
        {
            LogUnexpectedAgain(logger, Reconnect.Failures, retryIn.TotalSeconds, Describe(error));
        }
    }

    private static string Describe(Exception error) => $"{error.GetType().Name}: {BrokerErrors.Describe(error)}";

    [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "Command consumer: broker unavailable, retrying in {RetrySeconds:0.#} s: {Reason}")]
    private static partial void LogBrokerDown(ILogger logger, double retrySeconds, string reason);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "Command consumer: consuming {Queue} (prefetch {Prefetch})")]
    private static partial void LogConsuming(ILogger logger, string queue, ushort prefetch);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Warning,
        Message = "Command consumer: command {CommandId} sent to {DeadLetterQueue} ({Reason}, delivery {Delivery}): {Detail}")]
    private static partial void LogDeadLettered(ILogger logger, string deadLetterQueue, string commandId, string reason, int delivery, string detail);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Warning, Message = "Command consumer: command {CommandId} failed for a transient reason, trying again in {RetrySeconds:0.#} s: {Reason}")]
    private static partial void LogTransient(ILogger logger, string commandId, double retrySeconds, string reason);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Error,
        Message = "Command consumer: unexpected failure of command {CommandId} (delivery {Delivery} of {MaxDeliveries}), returned to the queue in {RetrySeconds:0.#} s")]
    private static partial void LogUnexpectedCommand(ILogger logger, Exception error, string commandId, int delivery, int maxDeliveries, double retrySeconds);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Warning,
        Message = "Command consumer: unexpected failure of command {CommandId} again (delivery {Delivery} of {MaxDeliveries}), returned to the queue in {RetrySeconds:0.#} s: {Reason}")]
    private static partial void LogUnexpectedCommandAgain(ILogger logger, string commandId, int delivery, int maxDeliveries, double retrySeconds, string reason);

    [LoggerMessage(EventId = 6007, Level = LogLevel.Error, Message = "Command consumer: unexpected failure, reconnecting in {RetrySeconds:0.#} s")]
    private static partial void LogUnexpected(ILogger logger, Exception error, double retrySeconds);

    [LoggerMessage(EventId = 6008, Level = LogLevel.Warning,
        Message = "Command consumer: unexpected failure again ({Failures} failures in a row), reconnecting in {RetrySeconds:0.#} s: {Reason}")]
    private static partial void LogUnexpectedAgain(ILogger logger, int failures, double retrySeconds, string reason);

    [LoggerMessage(EventId = 6009, Level = LogLevel.Information, Message = "Command consumer: command {CommandId} ({CommandType}) cannot succeed, answered with its rejection event")]
    private static partial void LogRejected(ILogger logger, string commandId, string commandType);

    /// <summary>One delivery, copied out of the client's buffer.</summary>
    /// <param name="Tag">The channel's delivery tag, for the ack.</param>
    /// <param name="Body">The message body.</param>
    /// <param name="Number">Which delivery of the message this is (1 for the first).</param>
    /// <param name="MessageId">The AMQP message-id, for the log line of a command whose own id cannot be read.</param>
    /// <param name="Trace">The sender's W3C trace context from the message's headers; null when it sent none or a malformed one.</param>
    private sealed record Delivery(ulong Tag, byte[] Body, int Number, string? MessageId, TraceContext? Trace);

    /// <summary>
    /// A connection and a channel consuming the queue; deliveries arrive in <see cref="Deliveries"/>,
    /// which ends with <see cref="BrokerUnavailable"/> when the channel or the connection closes.
    /// </summary>
    private sealed class Session : IAsyncDisposable
    {
        private readonly Channel<Delivery> _deliveries = System.Threading.Channels.Channel.CreateUnbounded<Delivery>(
            new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

        private IConnection? _connection;
        private IChannel? _channel;

        public IChannel Channel => _channel ?? throw new InvalidOperationException("Not open.");

        public ChannelReader<Delivery> Deliveries => _deliveries.Reader;

        public static async Task<Session> OpenAsync(Uri broker, CommandConsumerOptions options, CancellationToken cancellationToken)
        {
            var factory = new ConnectionFactory
            {
                Uri = broker,
                AutomaticRecoveryEnabled = false,
                TopologyRecoveryEnabled = false,
                ClientProvidedName = "allocation-commands",
                RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
                // A broker that stops answering is noticed within two heartbeats.
                RequestedHeartbeat = TimeSpan.FromSeconds(10),
            };
            var session = new Session();
            try
            {
                session._connection = await factory.CreateConnectionAsync(cancellationToken);
                session._connection.ConnectionShutdownAsync += (_, e) => session.Closed($"the connection closed ({e.ReplyText})");
                session._channel = await session._connection.CreateChannelAsync(cancellationToken: cancellationToken);
                session._channel.ChannelShutdownAsync += (_, e) => session.Closed($"the channel closed ({e.ReplyText})");
                await CommandTopology.DeclareAsync(session._channel, options.MaxDeliveries, cancellationToken);
                await session._channel.BasicQosAsync(0, options.Prefetch, global: false, cancellationToken);
                var consumer = new AsyncEventingBasicConsumer(session._channel);
                consumer.ReceivedAsync += (_, e) =>
                {
                    session._deliveries.Writer.TryWrite(new Delivery(
                        e.DeliveryTag,
                        e.Body.ToArray(),
                        CommandTopology.DeliveryNumber(e.BasicProperties),
                        e.BasicProperties.MessageId,
                        TraceContext.ReadFrom(e.BasicProperties.Headers)));
                    return Task.CompletedTask;
                };
                consumer.UnregisteredAsync += (_, _) => session.Closed("the broker cancelled the consumer");
                await session._channel.BasicConsumeAsync(CommandTopology.Queue, autoAck: false, consumer, cancellationToken);
                return session;
            }
            catch
            {
                await session.DisposeAsync();
                throw;
            }
        }

        public void ThrowIfClosed()
        {
            if (_channel is not { IsOpen: true })
            {
                throw new BrokerUnavailable("The channel closed; unacknowledged commands go back to the queue.");
            }
        }

        public async ValueTask DisposeAsync()
        {
            _deliveries.Writer.TryComplete();
            var (connection, channel) = (_connection, _channel);
            (_connection, _channel) = (null, null);
            if (channel is not null)
            {
                await Quietly(channel.DisposeAsync);
            }

            if (connection is not null)
            {
                await Quietly(() => new ValueTask(connection.AbortAsync(TimeSpan.FromSeconds(1))));
                await Quietly(connection.DisposeAsync);
            }
        }

        private Task Closed(string reason)
        {
            _deliveries.Writer.TryComplete(new BrokerUnavailable($"Not consuming: {reason}."));
            return Task.CompletedTask;
        }

        private static async Task Quietly(Func<ValueTask> dispose)
        {
            try
            {
                await dispose();
            }
            catch (Exception error) when (BrokerErrors.IsExpected(error))
            {
                // Closing what already broke: nothing to report.
            }
        }
    }
}
