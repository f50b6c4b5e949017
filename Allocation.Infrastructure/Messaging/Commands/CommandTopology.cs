using RabbitMQ.Client;

namespace Allocation.Infrastructure.Messaging.Commands;

/// <summary>
/// Where commands arrive and where the ones that cannot be handled go. Every instance declares all of
/// it on connecting (declarations are idempotent), so a fresh broker needs no setup.
/// </summary>
internal static class CommandTopology
{
    /// <summary>Senders publish here, with the command's type as the routing key.</summary>
    public const string Exchange = "allocation.commands";

    /// <summary>The durable queue every instance consumes (competing consumers).</summary>
    public const string Queue = "allocation.commands";

    /// <summary>Malformed commands and poison messages, kept for an operator.</summary>
    public const string DeadLetterQueue = "allocation.commands.dead";

    /// <summary>The header in which a quorum queue counts earlier, failed deliveries of a message (absent on the first).</summary>
    public const string DeliveryCountHeader = "x-delivery-count";

    /// <summary>
    /// Both queues are quorum queues: replicated and durable, and the command queue counts deliveries
    /// itself (x-delivery-count, x-delivery-limit), which a classic queue with requeue cannot. Dead
    /// letters go through the default exchange straight to the dead-letter queue; at-least-once
    /// dead-lettering (which needs reject-publish overflow) so that the broker does not drop one on the way.
    /// </summary>
    public static async Task DeclareAsync(IChannel channel, int maxDeliveries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        await channel.ExchangeDeclareAsync(Exchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        await channel.QueueDeclareAsync(
            DeadLetterQueue,
            durable: true,
            exclusive: false,
            autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" },
            cancellationToken: cancellationToken);
        await channel.QueueDeclareAsync(
            Queue,
            durable: true,
            exclusive: false,
            autoDelete: false,
            arguments: new Dictionary<string, object?>
            {
                ["x-queue-type"] = "quorum",
                ["x-delivery-limit"] = maxDeliveries,
                ["x-dead-letter-exchange"] = "",
                ["x-dead-letter-routing-key"] = DeadLetterQueue,
                ["x-dead-letter-strategy"] = "at-least-once",
                ["x-overflow"] = "reject-publish",
            },
            cancellationToken: cancellationToken);
        await channel.QueueBindAsync(Queue, Exchange, "#", cancellationToken: cancellationToken);
    }

    /// <summary>Which delivery of the message this is: 1 for the first, from the queue's count of the earlier ones.</summary>
    public static int DeliveryNumber(IReadOnlyBasicProperties properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        var earlier = properties.Headers is { } headers && headers.TryGetValue(DeliveryCountHeader, out var value)
            ? value switch
            {
                long count => count,
                int count => count,
                _ => 0L,
            }
            : 0L;
        return (int)Math.Min(int.MaxValue - 1, Math.Max(0, earlier)) + 1;
    }
}
