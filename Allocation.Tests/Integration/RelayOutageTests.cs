using Allocation.Infrastructure.Messaging;
using Allocation.Infrastructure.Outbox;
using Allocation.Tests.Support;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Allocation.Tests.Integration;

/// <summary>The broker stops under a running relay, and comes back.</summary>
[NonParallelizable]
public class RelayOutageTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private TestDatabase _database = null!;
    private PrivateRabbitMq _broker = null!;

    [OneTimeSetUp]
    public async Task StartDatabaseAndBroker()
    {
        var starting = TestDatabase.CreateAsync();
        _broker = await PrivateRabbitMq.StartAsync();
        _database = await starting;
    }

    [OneTimeTearDown]
    public async Task StopThem()
    {
        await _broker.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Test]
    public async Task While_the_broker_is_down_events_wait_unmarked_and_health_is_degraded_then_the_relay_catches_up_by_itself()
    {
        var ds = _database.DataSource;
        await using var consumer = await EventConsumer.StartAsync(_broker.Uri, durable: true);
        var (state, logger) = (new RelayState(), new ListLogger<EventRelay>());
        var options = new EventsOptions { RelayIdleDelay = TimeSpan.FromMilliseconds(50) };
        var check = new RelayHealthCheck(state, new OutboxStore(ds), Options.Create(options));
        using var relay = RelayOutbox.Relay(ds, _broker.Uri, options, state, logger);
        await relay.StartAsync(CancellationToken.None);
        try
        {
            var sku = Unique.Sku();
            var before = await RelayOutbox.InsertAsync(ds, sku, 5);
            await RelayOutbox.WaitUntilAsync(async () => await Unpublished() == 0, Limit, "the first events go out");
            (await HealthAsync()).Should().Be(HealthStatus.Healthy);

            await _broker.StopAsync();
            var during = await RelayOutbox.InsertAsync(ds, sku, 20);
            await RelayOutbox.WaitUntilAsync(async () => await HealthAsync() == HealthStatus.Degraded, Limit, "health turns Degraded");
            await RelayOutbox.WaitUntilAsync(() => Task.FromResult(BrokerDownLines().Count >= 2), Limit, "the relay retried");
            (await Unpublished()).Should().Be(20, "nothing is marked while the broker cannot confirm");
            BrokerDownLines().Should().OnlyContain(e => e.Error == null && !e.Message.Contains('\n', StringComparison.Ordinal),
                "an outage is one line each time, without a stack trace");

            await _broker.StartAgainAsync();
            await RelayOutbox.WaitUntilAsync(async () => await Unpublished() == 0, Limit, "the backlog goes out once the broker is back");
            (await HealthAsync()).Should().Be(HealthStatus.Healthy);
            logger.Entries.Should().Contain(e => e.Event.Id == 3005 && e.Level == LogLevel.Information, "the recovery is logged");

            await consumer.ReconnectAsync();
            var all = before.Concat(during).Select(id => id.ToString("D")).ToList();
            await consumer.WaitUntilAsync(_ => consumer.DistinctIds.IsSupersetOf(all), Limit, "every event reaches the consumer");
            consumer.DistinctIds.Should().BeEquivalentTo(all);
        }
        finally
        {
            await relay.StopAsync(CancellationToken.None);
        }

        Task<long> Unpublished() => RelayOutbox.CountAsync(ds, "published_at IS NULL");
        async Task<HealthStatus> HealthAsync() => (await check.CheckHealthAsync(new HealthCheckContext(), CancellationToken.None)).Status;
        List<(LogLevel Level, EventId Event, string Message, Exception? Error)> BrokerDownLines() =>
            logger.Entries.Where(e => e.Event.Id == 3001).ToList();
    }
}
