using System.Diagnostics;
using Allocation.Application.Events;
using Allocation.Infrastructure.Outbox;
using Allocation.Infrastructure.Telemetry;
using RabbitMQ.Client;

namespace Allocation.Infrastructure.Messaging;

/// <summary>What one batch came to: the events the broker confirmed, and why the others were not.</summary>
internal sealed record PublishOutcome(IReadOnlyList<long> Confirmed, Exception? FirstFailure);

/// <summary>
/// One connection and one confirming channel to the broker, opened on demand and thrown away on
/// any failure. Recovery is done here rather than by the client's automatic recovery, so that a
/// publish never lands on a half-recovered channel and the relay always knows whether it is connected.
/// Not sealed, and what the relay calls is virtual: the seam through which tests make the broker side
/// fail in ways a real broker cannot be made to (HostedServiceFaultTests).
/// </summary>
internal class AmqpEventPublisher(Uri broker) : IAsyncDisposable
{
    public const string Exchange = "allocation.events";

    private readonly ConnectionFactory _factory = new()
    {
        Uri = broker,
        AutomaticRecoveryEnabled = false,
        TopologyRecoveryEnabled = false,
        ClientProvidedName = "allocation-relay",
        RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
        // A broker that stops answering is noticed within two heartbeats, not the client's default of minutes.
        RequestedHeartbeat = TimeSpan.FromSeconds(10),
    };

    private IConnection? _connection;
    private IChannel? _channel;

    public virtual bool IsConnected => _connection is { IsOpen: true } && _channel is { IsOpen: true };

    /// <summary>Opens the connection and channel if they are not open, and declares the exchange (idempotent).</summary>
    public virtual async Task ConnectAsync(CancellationToken cancellationToken)
    {
        if (IsConnected)
        {
            return;
        }

        await ResetAsync();
        _connection = await _factory.CreateConnectionAsync(cancellationToken);
        _channel = await _connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true),
            cancellationToken);
        await _channel.ExchangeDeclareAsync(Exchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: cancellationToken);
    }

    /// <summary>
    /// Publishes the events in order without waiting for each confirm before sending the next (the
    /// client keeps the channel's order), then waits for every confirm. Unroutable messages (no queue
    /// bound) are confirmed too: the topic exchange is publish-subscribe, the feed keeps history.
    /// </summary>
    public virtual async Task<PublishOutcome> PublishAsync(IReadOnlyList<OutboxEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        var channel = _channel ?? throw new InvalidOperationException("Not connected.");
        using var publishing = RelayTelemetry.StartPublish(events.Count, events.Select(e => e.Writer).OfType<TraceContext>());
        var publishes = new List<(long Id, Task Confirm)>(events.Count);
        foreach (var outboxEvent in events)
        {
            publishes.Add((outboxEvent.Id, Publish(channel, outboxEvent, publishing, cancellationToken)));
        }

        try
        {
            await Task.WhenAll(publishes.Select(p => p.Confirm));
        }
        catch (Exception)
        {
            // WhenAll ends when every publish has: each one is looked at below.
        }

        var confirmed = publishes.Where(p => p.Confirm.IsCompletedSuccessfully).Select(p => p.Id).ToList();
        var failed = publishes.Select(p => p.Confirm).FirstOrDefault(t => !t.IsCompletedSuccessfully);
        var failure = failed switch
        {
            null => null,
            { IsCanceled: true } => new OperationCanceledException("The broker did not confirm in time."),
            _ => failed.Exception!.InnerException,
        };
        if (failure is not null)
        {
            RelayTelemetry.Failed(publishing, failure);
        }

        return new PublishOutcome(confirmed, failure);
    }

    /// <summary>Closes the connection without waiting on the broker (it may be the reason for closing).</summary>
    public virtual async Task ResetAsync()
    {
        var (connection, channel) = (_connection, _channel);
        (_connection, _channel) = (null, null);
        if (channel is not null)
        {
            await DisposeQuietlyAsync(channel.DisposeAsync);
        }

        if (connection is not null)
        {
            await DisposeQuietlyAsync(() => new ValueTask(connection.AbortAsync(TimeSpan.FromSeconds(1))));
            await DisposeQuietlyAsync(connection.DisposeAsync);
        }
    }

    public async ValueTask DisposeAsync() => await ResetAsync();

    internal static BasicProperties Properties(OutboxEvent outboxEvent, Activity? publishing = null)
    {
        var properties = CloudEventProperties(outboxEvent);
        RelayTelemetry.Inject(outboxEvent.Writer, publishing, properties.Headers!);
        return properties;
    }

    private static BasicProperties CloudEventProperties(OutboxEvent outboxEvent) => new()
    {
        MessageId = outboxEvent.EventId.ToString("D"),
        ContentType = CloudEventJson.StructuredContentType,
        DeliveryMode = DeliveryModes.Persistent,
        Type = outboxEvent.Type,
        AppId = "allocation",
        Timestamp = new AmqpTimestamp(new DateTimeOffset(DateTime.SpecifyKind(outboxEvent.OccurredAt, DateTimeKind.Utc)).ToUnixTimeSeconds()),
        // CloudEvents AMQP binding names, so that consumers and broker policies can route without parsing the body.
        Headers = new Dictionary<string, object?>
        {
            ["cloudEvents:specversion"] = CloudEvent.Version,
            ["cloudEvents:id"] = outboxEvent.EventId.ToString("D"),
            ["cloudEvents:source"] = CloudEvent.ServiceSource,
            ["cloudEvents:type"] = outboxEvent.Type,
            ["cloudEvents:subject"] = outboxEvent.Subject,
            ["cloudEvents:time"] = CloudEvent.FormatTime(CloudEventJson.OccurredAt(outboxEvent)),
        },
    };

    private static Task Publish(IChannel channel, OutboxEvent outboxEvent, Activity? publishing, CancellationToken cancellationToken) =>
        channel.BasicPublishAsync(
            Exchange, outboxEvent.Type, mandatory: false, Properties(outboxEvent, publishing), CloudEventJson.Serialize(outboxEvent), cancellationToken).AsTask();

    private static async Task DisposeQuietlyAsync(Func<ValueTask> dispose)
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
