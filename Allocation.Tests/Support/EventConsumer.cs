using System.Collections.Concurrent;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Allocation.Tests.Support;

/// <summary>A message as a consumer of allocation.events received it.</summary>
public sealed record ReceivedMessage(
    string RoutingKey, string? MessageId, string? ContentType, DeliveryModes DeliveryMode,
    IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string BodyText => System.Text.Encoding.UTF8.GetString(Body);
}

/// <summary>
/// A consumer bound to the allocation.events exchange with "#", as another service would be. It acks
/// each message after recording it, so messages in flight when a connection dies come again: what it
/// received may hold duplicates, as at-least-once allows.
/// </summary>
public sealed class EventConsumer : IAsyncDisposable
{
    public const string Exchange = "allocation.events";

    private readonly ConcurrentQueue<ReceivedMessage> _received = new();
    private readonly Uri _broker;
    private readonly string _queue;
    private readonly bool _durable;
    private IConnection? _connection;
    private IChannel? _channel;

    private EventConsumer(Uri broker, string queue, bool durable)
    {
        (_broker, _queue, _durable) = (broker, queue, durable);
    }

    public IReadOnlyList<ReceivedMessage> Received => [.. _received];

    /// <param name="broker">The broker's URI.</param>
    /// <param name="durable">
    /// A durable queue that outlives a broker restart (call <see cref="ReconnectAsync"/> afterwards);
    /// otherwise an exclusive one that goes with the connection.
    /// </param>
    public static async Task<EventConsumer> StartAsync(Uri broker, bool durable = false)
    {
        var consumer = new EventConsumer(broker, "test-consumer-" + Guid.NewGuid().ToString("N")[..10], durable);
        await consumer.ConnectAsync();
        return consumer;
    }

    /// <summary>Subscribes again after the broker was restarted (the old connection died with it).</summary>
    public async Task ReconnectAsync()
    {
        await CloseAsync();
        await ConnectAsync();
    }

    /// <summary>Waits until <paramref name="condition"/> holds for what was received, or fails with what was.</summary>
    public async Task WaitUntilAsync(Func<IReadOnlyList<ReceivedMessage>, bool> condition, TimeSpan limit, string because)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!condition(Received))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Within {limit}: {because}. Received {_received.Count} messages.");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>The distinct message ids received (the event ids), duplicates folded.</summary>
    public IReadOnlySet<string> DistinctIds => Received.Select(m => m.MessageId ?? "").ToHashSet();

    public async ValueTask DisposeAsync() => await CloseAsync();

    private async Task ConnectAsync()
    {
        var factory = new ConnectionFactory { Uri = _broker, AutomaticRecoveryEnabled = false };
        _connection = await factory.CreateConnectionAsync();
        _channel = await _connection.CreateChannelAsync();
        await _channel.ExchangeDeclareAsync(Exchange, ExchangeType.Topic, durable: true, autoDelete: false);
        await _channel.QueueDeclareAsync(_queue, durable: _durable, exclusive: !_durable, autoDelete: false);
        await _channel.QueueBindAsync(_queue, Exchange, "#");
        var consumer = new AsyncEventingBasicConsumer(_channel);
        var channel = _channel;
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            var properties = delivery.BasicProperties;
            var headers = (properties.Headers ?? new Dictionary<string, object?>()).ToDictionary(
                h => h.Key, h => h.Value is byte[] bytes ? System.Text.Encoding.UTF8.GetString(bytes) : Convert.ToString(h.Value, System.Globalization.CultureInfo.InvariantCulture) ?? "");
            _received.Enqueue(new ReceivedMessage(
                delivery.RoutingKey, properties.MessageId, properties.ContentType, properties.DeliveryMode, headers, delivery.Body.ToArray()));
            await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
        };
        await _channel.BasicConsumeAsync(_queue, autoAck: false, consumer);
    }

    private async Task CloseAsync()
    {
        var (connection, channel) = (_connection, _channel);
        (_connection, _channel) = (null, null);
        try
        {
            if (channel is not null)
            {
                await channel.DisposeAsync();
            }

            if (connection is not null)
            {
                await connection.AbortAsync(TimeSpan.FromSeconds(1));
                await connection.DisposeAsync();
            }
        }
        catch (Exception error) when (error is RabbitMQ.Client.Exceptions.RabbitMQClientException or IOException or ObjectDisposedException)
        {
            // The broker went away first.
        }
    }
}
