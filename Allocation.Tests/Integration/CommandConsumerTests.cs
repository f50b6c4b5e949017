using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;
using Allocation.Application.Batches;
using Allocation.Infrastructure.Messaging.Commands;
using Allocation.Infrastructure.Persistence;
using Allocation.Tests.Support;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Allocation.Tests.Integration;

/// <summary>The consumer against a real RabbitMQ and PostgreSQL: acks, dead letters, transient failures, a broker outage.</summary>
[NonParallelizable]
public class CommandConsumerTests
{
    private const int MaxDeliveries = 3;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private static readonly CancellationToken None = CancellationToken.None;

    private readonly ConcurrentQueue<(string Name, long Value, string? Reason)> _measurements = new();
    private TestDatabase _database = null!;
    private PrivateRabbitMq _broker = null!;
    private Store _store = null!;
    private CommandsFailingInserts _failing = null!;
    private CommandConsumerState _state = null!;
    private ListLogger<CommandConsumer> _logger = null!;
    private CommandConsumer _consumer = null!;
    private CommandsBroker _sender = null!;
    private MeterListener _meters = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        var starting = TestDatabase.OwnAsync();
        _broker = await PrivateRabbitMq.StartAsync();
        _database = await starting;
        _store = new Store(_database);
        _failing = new CommandsFailingInserts(_database.DataSource);
        await _failing.InstallAsync();
        _meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == CommandTelemetry.Name)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? reason = null;
            foreach (var tag in tags)
            {
                reason = tag.Key is "reason" or "outcome" ? tag.Value as string : reason;
            }

            _measurements.Enqueue((instrument.Name, value, reason));
        });
        _meters.Start();

        var options = Options.Create(new CommandConsumerOptions
        {
            MaxDeliveries = MaxDeliveries,
            FirstRetryDelay = TimeSpan.FromMilliseconds(50),
            LongestRetryDelay = TimeSpan.FromMilliseconds(200),
        });
        (_state, _logger) = (new CommandConsumerState(), new ListLogger<CommandConsumer>());
        var handler = new CommandHandler(
            _store.Get<IServiceScopeFactory>(), new CommandInbox(_database.DataSource, _store.Get<IOptions<IdempotencyOptions>>()));
        _consumer = new CommandConsumer(_broker.Uri, handler, _state, new CommandTelemetry(), options, _logger);
        await _consumer.StartAsync(None);
        await RelayOutbox.WaitUntilAsync(async () => await HealthAsync() == HealthStatus.Healthy, Limit, "the consumer declares its queues and consumes");
        _sender = await CommandsBroker.ConnectAsync(_broker.Uri);
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _consumer.StopAsync(None);
        _consumer.Dispose();
        _meters.Dispose();
        await _sender.DisposeAsync();
        await _store.DisposeAsync();
        await _broker.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Test]
    public async Task A_command_published_to_the_exchange_takes_effect_and_is_acknowledged()
    {
        var reference = await AddBatchAsync(10);
        var id = Unique.OrderId("cmd");

        await _sender.PublishAsync(id, CommandTypes.ChangeBatch, new { @ref = reference, qty = 8 });

        await RelayOutbox.WaitUntilAsync(async () => await QuantityAsync(reference) == 8, Limit, "the change is applied");
        await RelayOutbox.WaitUntilAsync(async () => await MessagesAsync(CommandsBroker.Queue) == 0, Limit, "the command is acked");
    }

    [Test]
    public async Task A_malformed_command_goes_to_the_dead_letter_queue_at_once_with_a_warning_and_a_count()
    {
        var marker = Unique.OrderId("malformed");
        var before = Count("allocation.commands.dead_lettered", "malformed");

        await _sender.PublishAsync(Encoding.UTF8.GetBytes("{\"not\": \"a command\", \"marker\": \"" + marker + "\"}"), "allocation.batch.change", marker);

        await RelayOutbox.WaitUntilAsync(
            async () => (await _sender.DrainDeadLettersAsync()).Any(body => body.Contains(marker, StringComparison.Ordinal)), Limit, "it is dead-lettered");
        Count("allocation.commands.dead_lettered", "malformed").Should().Be(before + 1);
        _logger.Entries.Should().ContainSingle(e => e.Event.Id == 6003 && e.Message.Contains(marker, StringComparison.Ordinal)
            && e.Message.Contains("malformed", StringComparison.Ordinal) && e.Message.Contains("delivery 1", StringComparison.Ordinal)
            && e.Level == LogLevel.Warning);
    }

    [Test]
    public async Task A_command_older_than_the_inbox_remembers_is_dead_lettered_not_applied()
    {
        var reference = await AddBatchAsync(10);
        var id = Unique.OrderId("expired");
        var before = Count("allocation.commands.dead_lettered", "expired");

        await _sender.PublishAsync(
            CommandsBroker.Envelope(id, CommandTypes.ChangeBatch, new { @ref = reference, qty = 5 }, DateTimeOffset.UtcNow - TimeSpan.FromHours(25)),
            CommandTypes.ChangeBatch);

        await RelayOutbox.WaitUntilAsync(
            async () => (await _sender.DrainDeadLettersAsync()).Any(body => body.Contains(id, StringComparison.Ordinal)), Limit, "it is dead-lettered");
        Count("allocation.commands.dead_lettered", "expired").Should().Be(before + 1);
        (await QuantityAsync(reference)).Should().Be(10);
    }

    [Test]
    public async Task A_command_that_fails_unexpectedly_on_every_delivery_is_dead_lettered_after_the_last_one_and_changes_nothing()
    {
        var reference = await AddBatchAsync(10);
        var id = Unique.OrderId("poison");
        await _failing.FailAsync(id, CommandsFailingInserts.Unrecognised);
        var before = Count("allocation.commands.dead_lettered", "poison");

        await _sender.PublishAsync(id, CommandTypes.ChangeBatch, new { @ref = reference, qty = 5 });

        await RelayOutbox.WaitUntilAsync(
            async () => (await _sender.DrainDeadLettersAsync()).Any(body => body.Contains(id, StringComparison.Ordinal)), Limit, "it is dead-lettered");
        Count("allocation.commands.dead_lettered", "poison").Should().Be(before + 1);
        _logger.Entries.Where(e => e.Event.Id is 6005 or 6006 && e.Message.Contains(id, StringComparison.Ordinal))
            .Should().HaveCount(MaxDeliveries - 1, "each earlier delivery went back to the queue");
        _logger.Entries.Should().ContainSingle(e => e.Event.Id == 6003 && e.Message.Contains(id, StringComparison.Ordinal)
            && e.Message.Contains("poison", StringComparison.Ordinal) && e.Message.Contains($"delivery {MaxDeliveries}", StringComparison.Ordinal));
        (await QuantityAsync(reference)).Should().Be(10);
    }

    [Test]
    public async Task A_command_failing_for_a_transient_reason_is_retried_without_using_up_its_deliveries_and_applied_once()
    {
        var reference = await AddBatchAsync(10);
        var id = Unique.OrderId("transient");
        await _failing.FailAsync(id, CommandsFailingInserts.StatementCancelled);

        await _sender.PublishAsync(id, CommandTypes.ChangeBatch, new { @ref = reference, qty = 3 });
        await RelayOutbox.WaitUntilAsync(
            () => Task.FromResult(Retries(id) > MaxDeliveries * 2), Limit, "it is retried more often than its deliveries allow");
        await _failing.StopFailingAsync(id);

        await RelayOutbox.WaitUntilAsync(async () => await QuantityAsync(reference) == 3, Limit, "applied once the database takes it");
        await RelayOutbox.WaitUntilAsync(async () => await MessagesAsync(CommandsBroker.Queue) == 0, Limit, "acked");
        (await _sender.DrainDeadLettersAsync()).Should().NotContain(body => body.Contains(id, StringComparison.Ordinal));
        (await ScalarAsync<long>("SELECT count(*) FROM outbox WHERE type = 'allocation.batch.changed' AND data ->> 'ref' = @reference", new { reference }))
            .Should().Be(1);
    }

    [Test]
    public async Task While_the_broker_is_down_health_is_degraded_and_consumption_resumes_by_itself()
    {
        var reference = await AddBatchAsync(10);

        await _broker.StopAsync();
        await RelayOutbox.WaitUntilAsync(async () => await HealthAsync() == HealthStatus.Degraded, Limit, "health turns Degraded");
        await RelayOutbox.WaitUntilAsync(
            () => Task.FromResult(_logger.Entries.Count(e => e.Event.Id == 6001) >= 2), Limit, "it keeps trying to connect");
        _logger.Entries.Where(e => e.Event.Id == 6001).Should().OnlyContain(e => e.Error == null, "an outage is one line, no stack trace");

        await _broker.StartAgainAsync();
        await RelayOutbox.WaitUntilAsync(async () => await HealthAsync() == HealthStatus.Healthy, Limit, "consuming again");
        await _sender.DisposeAsync();
        _sender = await CommandsBroker.ConnectAsync(_broker.Uri);
        await _sender.PublishAsync(Unique.OrderId("after"), CommandTypes.ChangeBatch, new { @ref = reference, qty = 9 });
        await RelayOutbox.WaitUntilAsync(async () => await QuantityAsync(reference) == 9, Limit, "a command sent after the outage is applied");
    }

    private long Count(string name, string reason) => _measurements.Where(m => m.Name == name && m.Reason == reason).Sum(m => m.Value);

    private int Retries(string id) => _logger.Entries.Count(e => e.Event.Id == 6004 && e.Message.Contains(id, StringComparison.Ordinal));

    private async Task<HealthStatus> HealthAsync() =>
        (await new CommandConsumerHealthCheck(_state).CheckHealthAsync(new HealthCheckContext(), None)).Status;

    /// <summary>Ready and unacknowledged, as rabbitmqctl counts them.</summary>
    private async Task<int> MessagesAsync(string queue)
    {
        var lines = (await _broker.CtlAsync("list_queues", "-q", "name", "messages")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return lines.Select(line => line.Split('\t')).Where(f => f[0] == queue).Select(f => int.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture)).Single();
    }

    private async Task<string> AddBatchAsync(int quantity)
    {
        var (sku, reference) = (Unique.Sku(), Unique.BatchRef());
        await using var scope = _store.Get<IServiceScopeFactory>().CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<BatchService>().AddBatchAsync(reference, sku, quantity, eta: null, None);
        return reference;
    }

    private Task<int> QuantityAsync(string reference) =>
        ScalarAsync<int>("SELECT purchased_quantity FROM batches WHERE reference = @reference", new { reference });

    private async Task<T> ScalarAsync<T>(string sql, object parameters)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<T>(sql, parameters) ?? throw new InvalidOperationException($"No value from {sql}");
    }
}
