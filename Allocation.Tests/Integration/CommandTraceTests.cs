using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Allocation.Application.Batches;
using Allocation.Infrastructure.Messaging;
using Allocation.Infrastructure.Messaging.Commands;
using Allocation.Infrastructure.Persistence;
using Allocation.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Allocation.Tests.Integration;

/// <summary>
/// A command carries its sender's W3C trace context through RabbitMQ and PostgreSQL: the consumer's span
/// is a child of the sender's, and the events the command writes are published by the relay in that trace.
/// </summary>
[NonParallelizable]
public class CommandTraceTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private static readonly CancellationToken None = CancellationToken.None;

    private readonly List<Activity> _spans = [];
    private ActivityListener _tracing = null!;
    private TestDatabase _database = null!;
    private PrivateRabbitMq _broker = null!;
    private Store _store = null!;
    private CommandConsumerState _state = null!;
    private CommandConsumer _consumer = null!;
    private CommandsBroker _sender = null!;
    private EventConsumer _events = null!;
    private EventRelay _relay = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        // Tracing on, as the host turns it on: the consumer's spans are made and recorded.
        _tracing = new ActivityListener
        {
            ShouldListenTo = source => source.Name == CommandTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = span =>
            {
                lock (_spans)
                {
                    _spans.Add(span);
                }
            },
        };
        ActivitySource.AddActivityListener(_tracing);
        var starting = TestDatabase.OwnAsync();
        _broker = await PrivateRabbitMq.StartAsync();
        _database = await starting;
        _store = new Store(_database);
        var handler = new CommandHandler(
            _store.Get<IServiceScopeFactory>(), new CommandInbox(_database.DataSource, _store.Get<IOptions<IdempotencyOptions>>()));
        _state = new CommandConsumerState();
        _consumer = new CommandConsumer(
            _broker.Uri, handler, _state, new CommandTelemetry(), Options.Create(new CommandConsumerOptions()), new ListLogger<CommandConsumer>());
        await _consumer.StartAsync(None);
        await RelayOutbox.WaitUntilAsync(
            async () => (await new CommandConsumerHealthCheck(_state).CheckHealthAsync(new HealthCheckContext(), None)).Status == HealthStatus.Healthy,
            Limit,
            "the consumer declares its queues and consumes");
        _sender = await CommandsBroker.ConnectAsync(_broker.Uri);
        _events = await EventConsumer.StartAsync(_broker.Uri);
        _relay = RelayOutbox.Relay(_database.DataSource, _broker.Uri);
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _consumer.StopAsync(None);
        _consumer.Dispose();
        _relay.Dispose();
        _tracing.Dispose();
        await _events.DisposeAsync();
        await _sender.DisposeAsync();
        await _store.DisposeAsync();
        await _broker.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Test]
    public async Task An_order_command_with_a_traceparent_header_is_handled_and_its_event_published_in_the_sender_s_trace()
    {
        var sku = await AddBatchAsync(10);
        var (orderId, sender) = (Unique.OrderId("traced"), Sender());

        await _sender.PublishAsync(
            Command(orderId, sku), CommandTypes.AllocateOrder, orderId,
            new Dictionary<string, object?> { ["traceparent"] = sender.TraceParent, ["tracestate"] = "sender=1" });

        var process = await ProcessSpanAsync(orderId);
        process.TraceId.Should().Be(sender.TraceId);
        process.ParentSpanId.Should().Be(sender.SpanId, "the sender's span is the consumer span's parent");
        var published = await PublishedAsync("allocation.order.allocated", orderId);
        published.Headers.Should().Contain("traceparent", $"00-{sender.TraceId}-{process.SpanId}-01", "the event continues the command's trace")
            .And.Contain("tracestate", "sender=1");
    }

    [Test]
    public async Task The_trace_context_of_the_envelope_s_extension_is_continued_too_and_so_is_a_rejection_s()
    {
        var (orderId, sender) = (Unique.OrderId("envelope"), Sender());
        var body = JsonSerializer.SerializeToUtf8Bytes(new
        {
            specversion = "1.0",
            id = orderId,
            source = "/tests/sender",
            type = CommandTypes.AllocateOrder,
            time = DateTimeOffset.UtcNow,
            traceparent = sender.TraceParent,
            data = new { orderid = orderId, lines = new[] { new { sku = Unique.Sku("unknown"), qty = 1 } } },
        });

        await _sender.PublishAsync(body, CommandTypes.AllocateOrder, orderId);

        var process = await ProcessSpanAsync(orderId);
        process.TraceId.Should().Be(sender.TraceId);
        process.ParentSpanId.Should().Be(sender.SpanId);
        var rejection = await PublishedAsync(CommandInbox.RejectedEventType, orderId);
        rejection.Headers.Should().Contain("traceparent", $"00-{sender.TraceId}-{process.SpanId}-01", "the rejection continues the command's trace");
    }

    [Test]
    public async Task A_malformed_traceparent_is_ignored_the_command_takes_effect_in_a_trace_of_its_own()
    {
        var sku = await AddBatchAsync(10);
        var orderId = Unique.OrderId("badtrace");

        await _sender.PublishAsync(
            Command(orderId, sku), CommandTypes.AllocateOrder, orderId,
            new Dictionary<string, object?> { ["traceparent"] = "00-not-a-trace-context-01" });

        var process = await ProcessSpanAsync(orderId);
        process.ParentSpanId.Should().Be(default(ActivitySpanId), "a new root");
        var published = await PublishedAsync("allocation.order.allocated", orderId);
        published.Headers.Should().Contain("traceparent", $"00-{process.TraceId}-{process.SpanId}-01", "the event continues the consumer's new trace");
        (await _sender.DrainDeadLettersAsync()).Should().NotContain(body => body.Contains(orderId, StringComparison.Ordinal));
    }

    private static (string TraceParent, ActivityTraceId TraceId, ActivitySpanId SpanId) Sender()
    {
        var (traceId, spanId) = (ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom());
        return ($"00-{traceId}-{spanId}-01", traceId, spanId);
    }

    private static byte[] Command(string orderId, string sku) =>
        CommandsBroker.Envelope(orderId, CommandTypes.AllocateOrder, new { orderid = orderId, lines = new[] { new { sku, qty = 2 } } });

    /// <summary>The consumer's span of the command (whose id is the order id here), once it ended.</summary>
    private async Task<Activity> ProcessSpanAsync(string commandId)
    {
        Activity? found = null;
        await RelayOutbox.WaitUntilAsync(
            () =>
            {
                lock (_spans)
                {
                    found = _spans.LastOrDefault(s => (string?)s.GetTagItem("messaging.message.id") == commandId);
                }

                return Task.FromResult(found is not null);
            },
            Limit,
            "the command is handled");
        found!.GetTagItem("allocation.command.outcome").Should().BeOneOf("applied", "rejected");
        return found;
    }

    /// <summary>Runs the relay until the event of this type that names the order (or the command) has reached a consumer.</summary>
    private async Task<ReceivedMessage> PublishedAsync(string type, string orderId)
    {
        ReceivedMessage? message = null;
        await RelayOutbox.WaitUntilAsync(
            async () =>
            {
                await _relay.PublishBatchAsync(None);
                message = _events.Received.FirstOrDefault(m => m.RoutingKey == type && m.BodyText.Contains(orderId, StringComparison.Ordinal));
                return message is not null;
            },
            Limit,
            $"{type} of {orderId} is published");
        return message!;
    }

    private async Task<string> AddBatchAsync(int quantity)
    {
        var sku = Unique.Sku();
        await using var scope = _store.Get<IServiceScopeFactory>().CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<BatchService>().AddBatchAsync(Unique.BatchRef(), sku, quantity, eta: null, None);
        return sku;
    }
}
