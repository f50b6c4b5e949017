using System.Text.Json;
using Allocation.Infrastructure.Messaging;
using Allocation.Infrastructure.Outbox;
using Allocation.Tests.Support;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace Allocation.Tests.Integration;

/// <summary>The relay against a real PostgreSQL and a real RabbitMQ: publish with confirm, then mark.</summary>
[NonParallelizable]
public partial class RelayTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private TestDatabase _database = null!;
    private PrivateRabbitMq _broker = null!;

    [OneTimeSetUp]
    public async Task StartDatabaseAndBroker()
    {
        // A database of its own: the relay publishes every row of the outbox, other tests' included.
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

    [SetUp]
    public Task EmptyTheOutbox() => RelayOutbox.EmptyAsync(_database.DataSource);

    [Test]
    public async Task Each_event_goes_out_as_a_persistent_cloudevent_routed_by_its_type_and_is_marked_once_confirmed()
    {
        await using var consumer = await EventConsumer.StartAsync(_broker.Uri);
        var sku = Unique.Sku();
        var ids = await RelayOutbox.InsertAsync(_database.DataSource, sku, 2);
        var deallocated = await RelayOutbox.InsertAsync(_database.DataSource, sku, 1, type: "allocation.line.deallocated");
        var relay = RelayOutbox.Relay(_database.DataSource, _broker.Uri);

        (await relay.PublishBatchAsync(CancellationToken.None)).Should().Be(3);

        await consumer.WaitUntilAsync(r => r.Count == 3, Limit, "three messages");
        var messages = consumer.Received;
        messages.Select(m => m.MessageId).Should().Equal(ids.Concat(deallocated).Select(id => id.ToString("D")), "the outbox's order");
        messages.Select(m => m.RoutingKey).Should().Equal(RelayOutbox.AllocatedType, RelayOutbox.AllocatedType, "allocation.line.deallocated");
        messages.Should().OnlyContain(m => m.DeliveryMode == DeliveryModes.Persistent && m.ContentType == "application/cloudevents+json; charset=utf-8");

        var row = (await RelayOutbox.QueryAsync<(DateTime OccurredAt, string Data)>(_database.DataSource,
            "SELECT occurred_at, data::text FROM outbox WHERE event_id = @id", new { id = ids[1] })).Single();
        var second = messages[1];
        using var body = JsonDocument.Parse(second.Body);
        body.RootElement.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo(
            ["specversion", "id", "source", "type", "time", "subject", "datacontenttype", "skusequence", "data"],
            "the envelope holds exactly the CloudEvents attributes and the skusequence extension");
        body.RootElement.GetProperty("specversion").GetString().Should().Be("1.0");
        body.RootElement.GetProperty("id").GetString().Should().Be(ids[1].ToString("D"));
        body.RootElement.GetProperty("source").GetString().Should().Be("/allocation");
        body.RootElement.GetProperty("type").GetString().Should().Be(RelayOutbox.AllocatedType);
        body.RootElement.GetProperty("subject").GetString().Should().Be(sku);
        body.RootElement.GetProperty("datacontenttype").GetString().Should().Be("application/json");
        body.RootElement.GetProperty("skusequence").GetInt64().Should().Be(2);
        DateTimeOffset.Parse(body.RootElement.GetProperty("time").GetString()!, System.Globalization.CultureInfo.InvariantCulture)
            .Should().Be(new DateTimeOffset(DateTime.SpecifyKind(row.OccurredAt, DateTimeKind.Utc)));
        body.RootElement.GetProperty("time").GetString().Should().MatchRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", "RFC 3339 in UTC");
        JsonSerializer.Serialize(body.RootElement.GetProperty("data")).Should().Be(JsonSerializer.Serialize(JsonDocument.Parse(row.Data).RootElement));

        second.Headers.Should().Contain(new Dictionary<string, string>
        {
            ["cloudEvents:specversion"] = "1.0",
            ["cloudEvents:id"] = ids[1].ToString("D"),
            ["cloudEvents:source"] = "/allocation",
            ["cloudEvents:type"] = RelayOutbox.AllocatedType,
            ["cloudEvents:subject"] = sku,
            ["cloudEvents:time"] = body.RootElement.GetProperty("time").GetString()!,
        });

        (await RelayOutbox.CountAsync(_database.DataSource, "published_at IS NOT NULL AND claimed_until IS NULL")).Should().Be(3);
        (await relay.PublishBatchAsync(CancellationToken.None)).Should().Be(0, "nothing is left to publish");
    }

    [Test]
    public async Task Events_the_broker_refuses_stay_unmarked_and_go_out_on_a_later_round()
    {
        await using var consumer = await EventConsumer.StartAsync(_broker.Uri);
        var ids = await RelayOutbox.InsertAsync(_database.DataSource, Unique.Sku(), 5);
        // A queue that holds two messages and refuses more: the broker nacks what it cannot take.
        var full = "full-" + Guid.NewGuid().ToString("N")[..8];
        await using var connection = await new ConnectionFactory { Uri = _broker.Uri }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.ExchangeDeclareAsync(EventConsumer.Exchange, ExchangeType.Topic, durable: true);
        await channel.QueueDeclareAsync(full, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-max-length"] = 2, ["x-overflow"] = "reject-publish" });
        await channel.QueueBindAsync(full, EventConsumer.Exchange, "#");

        var relay = RelayOutbox.Relay(_database.DataSource, _broker.Uri);

        var refused = async () => await relay.PublishBatchAsync(CancellationToken.None);
        await refused.Should().ThrowAsync<BrokerRefused>();
        (await RelayOutbox.QueryAsync<Guid>(_database.DataSource, "SELECT event_id FROM outbox WHERE published_at IS NOT NULL ORDER BY id"))
            .Should().Equal(ids.Take(2), "only what the broker confirmed is marked");
        (await RelayOutbox.CountAsync(_database.DataSource, "published_at IS NULL AND claimed_until IS NULL"))
            .Should().Be(3, "the refused events are handed back at once, not left claimed");

        await channel.QueueDeleteAsync(full);
        (await relay.PublishBatchAsync(CancellationToken.None)).Should().Be(3);

        (await RelayOutbox.CountAsync(_database.DataSource, "published_at IS NULL")).Should().Be(0);
        await consumer.WaitUntilAsync(r => r.Select(m => m.MessageId).Distinct().Count() == 5, Limit, "every event, once deduplicated");
        consumer.DistinctIds.Should().BeEquivalentTo(ids.Select(id => id.ToString("D")));
    }

    [Test]
    public async Task Events_claimed_by_a_relay_that_died_go_out_again_once_the_claim_expires()
    {
        await using var consumer = await EventConsumer.StartAsync(_broker.Uri);
        var ids = await RelayOutbox.InsertAsync(_database.DataSource, Unique.Sku(), 3);
        // What a relay that published and died before marking leaves behind.
        (await RelayOutbox.ScalarAsync<long>(_database.DataSource,
            "WITH c AS (UPDATE outbox SET claimed_until = now() + interval '2 seconds' RETURNING 1) SELECT count(*) FROM c")).Should().Be(3);
        var relay = RelayOutbox.Relay(_database.DataSource, _broker.Uri);

        (await relay.PublishBatchAsync(CancellationToken.None)).Should().Be(0, "another relay still holds them");
        await RelayOutbox.WaitUntilAsync(
            async () => await relay.PublishBatchAsync(CancellationToken.None) == 3, Limit, "the claim expires and the events go out");

        await consumer.WaitUntilAsync(r => r.Count == 3, Limit, "three messages");
        consumer.DistinctIds.Should().BeEquivalentTo(ids.Select(id => id.ToString("D")));
    }

    [Test]
    public async Task Two_relays_sharing_the_outbox_publish_every_event_and_none_twice()
    {
        await using var consumer = await EventConsumer.StartAsync(_broker.Uri);
        var inserted = new List<Guid>();
        for (var i = 0; i < 10; i++)
        {
            inserted.AddRange(await RelayOutbox.InsertAsync(_database.DataSource, Unique.Sku(), 60));
        }

        var options = new EventsOptions { RelayBatchSize = 20 };
        var relays = new[] { RelayOutbox.Relay(_database.DataSource, _broker.Uri, options), RelayOutbox.Relay(_database.DataSource, _broker.Uri, options) };
        var start = new TaskCompletionSource();
        var rounds = relays.Select(relay => Task.Run(async () =>
        {
            await start.Task;
            var published = 0;
            int batch;
            while ((batch = await relay.PublishBatchAsync(CancellationToken.None)) > 0)
            {
                published += batch;
            }

            return published;
        })).ToArray();
        start.SetResult();
        var perRelay = await Task.WhenAll(rounds);

        perRelay.Sum().Should().Be(inserted.Count, "each event was claimed by exactly one relay");
        perRelay.Should().OnlyContain(n => n > 0, "both relays took part, or the test did not exercise sharing");
        (await RelayOutbox.CountAsync(_database.DataSource, "published_at IS NULL")).Should().Be(0);
        await consumer.WaitUntilAsync(r => r.Count >= inserted.Count, Limit, "every event");
        consumer.Received.Should().HaveCount(inserted.Count, "in the normal case no event is published twice");
        consumer.DistinctIds.Should().BeEquivalentTo(inserted.Select(id => id.ToString("D")));
    }

    [Test]
    public async Task A_relay_whose_database_is_unreachable_logs_one_line_per_try_and_keeps_trying()
    {
        // Nothing listens there: every statement fails as a database outage does.
        await using var nowhere = Npgsql.NpgsqlDataSource.Create($"Host=127.0.0.1;Port={FreePort.Next()};Timeout=2");
        var logger = new ListLogger<EventRelay>();
        using var relay = RelayOutbox.Relay(nowhere, _broker.Uri, logger: logger);

        await relay.StartAsync(CancellationToken.None);
        try
        {
            await RelayOutbox.WaitUntilAsync(
                () => Task.FromResult(logger.Entries.Count(e => e.Event.Id == 3003) >= 2), Limit, "two failed tries, a pause apart");
        }
        finally
        {
            await relay.StopAsync(CancellationToken.None);
        }

        relay.ExecuteTask!.IsCompletedSuccessfully.Should().BeTrue("the relay ends when the host stops it, not by failing");
        logger.Entries.Where(e => e.Level >= LogLevel.Warning).Should().OnlyContain(
            e => e.Event.Id == 3003 && e.Error == null, "a database outage is one warning line per try, without a stack trace");
    }

    [Test]
    public async Task Health_is_degraded_while_the_oldest_unpublished_event_waits_longer_than_allowed()
    {
        var state = new RelayState();
        var options = new EventsOptions { RelayDegradedAfter = TimeSpan.FromSeconds(60) };
        var check = new RelayHealthCheck(state, new OutboxStore(_database.DataSource), Microsoft.Extensions.Options.Options.Create(options));
        state.Connected();
        await RelayOutbox.InsertAsync(_database.DataSource, Unique.Sku(), 1, age: TimeSpan.FromSeconds(30));
        await RelayOutbox.InsertAsync(_database.DataSource, Unique.Sku(), 1);
        (await check.CheckHealthAsync(new HealthCheckContext(), CancellationToken.None)).Status.Should().Be(HealthStatus.Healthy);

        // The next event to publish has now waited 90 s.
        await RelayOutbox.ScalarAsync<long>(_database.DataSource,
            "WITH c AS (UPDATE outbox SET occurred_at = now() - interval '90 seconds' WHERE id = (SELECT min(id) FROM outbox) RETURNING 1) SELECT count(*) FROM c");
        var late = await check.CheckHealthAsync(new HealthCheckContext(), CancellationToken.None);
        late.Status.Should().Be(HealthStatus.Degraded);
        late.Description.Should().Contain("waited");

        await RelayOutbox.ScalarAsync<long>(_database.DataSource,
            "WITH c AS (UPDATE outbox SET published_at = now() RETURNING 1) SELECT count(*) FROM c");
        (await check.CheckHealthAsync(new HealthCheckContext(), CancellationToken.None)).Status.Should().Be(HealthStatus.Healthy);

        state.Failing("connection refused");
        (await check.CheckHealthAsync(new HealthCheckContext(), CancellationToken.None)).Status.Should().Be(HealthStatus.Degraded);
    }
}
