using System.Text;
using System.Text.Json;
using RabbitMQ.Client;

namespace Allocation.Tests.Integration;

/// <summary>
/// Another service's side of allocation.commands: publishes commands (CloudEvents structured JSON,
/// persistent, with publisher confirms) and reads what reached the dead-letter queue.
/// </summary>
internal sealed class CommandsBroker : IAsyncDisposable
{
    public const string Exchange = "allocation.commands";
    public const string Queue = "allocation.commands";
    public const string DeadLetterQueue = "allocation.commands.dead";

    private readonly List<string> _deadLetters = [];
    private IConnection _connection = null!;
    private IChannel _channel = null!;

    private CommandsBroker()
    {
    }

    /// <summary>The bodies taken from the dead-letter queue so far.</summary>
    public IReadOnlyList<string> DeadLetters => _deadLetters;

    public static async Task<CommandsBroker> ConnectAsync(Uri broker)
    {
        var sender = new CommandsBroker();
        var factory = new ConnectionFactory { Uri = broker, AutomaticRecoveryEnabled = false };
        sender._connection = await factory.CreateConnectionAsync();
        sender._channel = await sender._connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        return sender;
    }

    /// <summary>Declares the exchange and the queues as the service does, so that commands can wait before any instance runs.</summary>
    public Task DeclareAsync(int maxDeliveries) =>
        Allocation.Infrastructure.Messaging.Commands.CommandTopology.DeclareAsync(_channel, maxDeliveries, CancellationToken.None);

    /// <summary>A command's envelope, as a sender writes it.</summary>
    public static byte[] Envelope(string id, string type, object data, DateTimeOffset? time = null) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
    {
        specversion = "1.0",
        id,
        source = "/tests/sender",
        type,
        time = (time ?? DateTimeOffset.UtcNow).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        datacontenttype = "application/json",
        data,
    }));

    public Task PublishAsync(string id, string type, object data) => PublishAsync(Envelope(id, type, data), type, id);

    /// <summary>Publishes a body as it is (for malformed ones), persistent, and waits for the broker's confirm.</summary>
    /// <param name="body">The message body.</param>
    /// <param name="routingKey">The command type.</param>
    /// <param name="messageId">The AMQP message-id.</param>
    /// <param name="headers">Application headers (a sender's traceparent).</param>
    public async Task PublishAsync(byte[] body, string routingKey, string? messageId = null, IDictionary<string, object?>? headers = null)
    {
        var properties = new BasicProperties
        {
            ContentType = "application/cloudevents+json; charset=utf-8",
            DeliveryMode = DeliveryModes.Persistent,
            MessageId = messageId,
            Headers = headers,
        };
        await _channel.BasicPublishAsync(Exchange, routingKey, mandatory: false, properties, body);
    }

    /// <summary>Moves what waits in the dead-letter queue into <see cref="DeadLetters"/>.</summary>
    public async Task<IReadOnlyList<string>> DrainDeadLettersAsync()
    {
        while (await _channel.BasicGetAsync(DeadLetterQueue, autoAck: true) is { } message)
        {
            _deadLetters.Add(Encoding.UTF8.GetString(message.Body.Span));
        }

        return _deadLetters;
    }

    /// <summary>Ready messages of a queue (not those delivered and unacknowledged).</summary>
    public async Task<uint> ReadyAsync(string queue) => (await _channel.QueueDeclarePassiveAsync(queue)).MessageCount;

    public async ValueTask DisposeAsync()
    {
        await _channel.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
