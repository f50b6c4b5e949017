using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// Two API processes with the broker configured, under concurrent allocations, deallocations and
/// quantity changes: a consumer bound to allocation.events receives exactly the events the outbox
/// holds (after dedupe by id), and every answer the clients got has its event; also after an
/// instance is killed mid-publish and the broker is restarted under load.
/// </summary>
[NonParallelizable]
public class EventsDeliveryTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);
    private PrivateRabbitMq _broker = null!;
    private TestDatabase _database = null!;
    private readonly List<ApiProcess> _instances = [];

    [OneTimeSetUp]
    public async Task StartTheBroker() => _broker = await PrivateRabbitMq.StartAsync();

    [OneTimeTearDown]
    public async Task StopTheBroker() => await _broker.DisposeAsync();

    [SetUp]
    public async Task NewDatabase() => _database = await TestDatabase.CreateAsync();

    [TearDown]
    public async Task StopEverything()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        _instances.Clear();
        await _database.DisposeAsync();
    }

    [Test]
    public async Task Every_change_made_across_two_instances_reaches_a_consumer_once_exactly_as_recorded()
    {
        await using var consumer = await EventConsumer.StartAsync(_broker.Uri);
        await StartInstancesAsync(lease: "00:00:30");
        var (skus, batches) = await SeedAsync();
        var traffic = new EventsTraffic(skus, batches);

        await traffic.RunAsync(n => _instances[n % 2].Client, requests: 300, clients: 24, seed: 1);

        traffic.ServerErrors.Should().BeEmpty("no request failed on the service's side; the instances logged:\n" + ErrorLines());
        await WaitUntilDrainedAsync(consumer);
        var outbox = await DeliveredExactlyAsRecordedAsync(consumer, traffic);
        consumer.Received.Should().HaveCount(outbox.Count, "in the normal case no event is published twice");
        await TheFeedServesTheSameEnvelopesAsync(consumer);
        TestContext.Progress.WriteLine($"events: {outbox.Count} delivered once each; answers: " + Summary(traffic));
    }

    [Test]
    public async Task No_event_is_missing_after_an_instance_is_killed_mid_publish_and_the_broker_restarts_under_load()
    {
        await using var consumer = await EventConsumer.StartAsync(_broker.Uri, durable: true);
        // A short claim, so that what the killed instance held goes out again soon.
        await StartInstancesAsync(lease: "00:00:03");
        var (skus, batches) = await SeedAsync();
        var traffic = new EventsTraffic(skus, batches, pause: TimeSpan.FromMilliseconds(40));
        var alive = _instances.ToArray();
        using var stop = new CancellationTokenSource();
        var load = traffic.RunAsync(n => Volatile.Read(ref alive)[n % Volatile.Read(ref alive).Length].Client, requests: 20_000, clients: 12, seed: 2, stop.Token);

        await WaitUntilAsync(() => traffic.Statuses.Count >= 150, "load on both instances");
        var killed = _instances[0];
        Volatile.Write(ref alive, [_instances[1]]);
        await killed.DisposeAsync(); // SIGKILL: no shutdown; whatever it had claimed stays claimed until the lease ends
        _instances.Remove(killed);
        var claimedAtKill = await CountAsync("published_at IS NULL AND claimed_until > now()");
        var survivor = _instances[0].Client;

        await WaitUntilAsync(() => traffic.Statuses.Count >= 300, "load on the survivor");
        await _broker.StopAsync();
        // Fresh stock, so that allocations can succeed whatever the load has used up by now.
        await survivor.AddBatchAsync(Unique.BatchRef("restock"), skus[0], 100_000, null);
        var allocatedWhenStopped = traffic.Allocated.Count;
        await WaitUntilAsync(async () => await HealthAsync(survivor) == "Degraded", "health turns Degraded, not Unhealthy");
        await WaitUntilAsync(() => traffic.Allocated.Count >= allocatedWhenStopped + 20, "allocations keep working without the broker");
        await _broker.StartAgainAsync();
        await consumer.ReconnectAsync();
        await WaitUntilAsync(() => traffic.Statuses.Count >= 600, "load after the broker is back");
        await stop.CancelAsync();
        await load;

        traffic.ServerErrors.Should().BeEmpty("no request failed on the service's side; the instances logged:\n" + ErrorLines());
        await WaitUntilDrainedAsync(consumer);
        var outbox = await DeliveredExactlyAsRecordedAsync(consumer, traffic);
        await WaitUntilAsync(async () => await HealthAsync(survivor) == "Healthy", "health recovers");
        _instances[0].CountOutputLines("Event relay: broker unavailable").Should().BePositive("the outage was logged");
        _instances[0].CountOutputLines("RabbitMQ.Client.Exceptions").Should().Be(0, "an outage is logged without exception dumps");
        TestContext.Progress.WriteLine(
            $"events: {outbox.Count}, messages: {consumer.Received.Count} (duplicates allowed: at least once); claimed when killed: {claimedAtKill}; " +
            $"unanswered: {traffic.Unanswered}; answers: " + Summary(traffic));
    }

    private async Task StartInstancesAsync(string lease)
    {
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings:Broker"] = _broker.Uri.ToString(),
            ["Events:RelayBatchSize"] = "10",
            ["Events:RelayIdleDelay"] = "00:00:00.100",
            ["Events:RelayLease"] = lease,
        };
        _instances.AddRange(await ApiProcess.StartManyAsync(2, _database.ServiceConnectionString, settings));
    }

    /// <summary>Three SKUs of two batches each, through the API (their batch.created events count too).</summary>
    private async Task<(string[] Skus, Dictionary<string, string[]> Batches)> SeedAsync()
    {
        var skus = Enumerable.Range(0, 3).Select(i => Unique.Sku($"ev{i}")).ToArray();
        var batches = new Dictionary<string, string[]>();
        foreach (var sku in skus)
        {
            var (warehouse, shipment) = (Unique.BatchRef("wh"), Unique.BatchRef("ship"));
            await _instances[0].Client.AddBatchAsync(warehouse, sku, 60, null);
            await _instances[1].Client.AddBatchAsync(shipment, sku, 60, "2030-01-01");
            batches[sku] = [warehouse, shipment];
        }

        return (skus, batches);
    }

    private async Task WaitUntilDrainedAsync(EventConsumer consumer)
    {
        await WaitUntilAsync(async () => await CountAsync("published_at IS NULL") == 0, "the relays publish the whole outbox");
        var total = await CountAsync("true");
        await consumer.WaitUntilAsync(_ => consumer.DistinctIds.Count >= total, Limit, $"the consumer receives all {total} events");
    }

    /// <summary>
    /// The consumer's messages, deduplicated by id, are the outbox's events, each with the envelope
    /// and data stored; each SKU's sequence has no gap; and every answer the clients got has its event.
    /// </summary>
    private async Task<List<OutboxRow>> DeliveredExactlyAsRecordedAsync(EventConsumer consumer, EventsTraffic traffic)
    {
        await using var store = new Store(_database);
        var outbox = (await store.QueryAsync<OutboxRow>(
            "SELECT event_id AS EventId, type AS Type, subject AS Subject, sku_sequence AS SkuSequence, data::text AS Data FROM outbox")).ToList();
        var messages = consumer.Received.GroupBy(m => m.MessageId!).ToDictionary(g => g.Key, g => g.First());
        messages.Keys.Should().BeEquivalentTo(outbox.Select(e => e.EventId.ToString("D")), "nothing missing, nothing extra");

        var bodies = new Dictionary<string, JsonElement>();
        foreach (var row in outbox)
        {
            var message = messages[row.EventId.ToString("D")];
            var body = JsonDocument.Parse(message.Body).RootElement;
            bodies[row.EventId.ToString("D")] = body;
            (message.RoutingKey, body.GetProperty("id").GetString(), body.GetProperty("type").GetString(), body.GetProperty("subject").GetString(), body.GetProperty("skusequence").GetInt64())
                .Should().Be((row.Type, row.EventId.ToString("D"), row.Type, row.Subject, row.SkuSequence));
            JsonNode.DeepEquals(JsonNode.Parse(body.GetProperty("data").GetRawText()), JsonNode.Parse(row.Data)).Should().BeTrue(row.Data);
        }

        foreach (var sku in outbox.GroupBy(e => e.Subject))
        {
            sku.Select(e => e.SkuSequence).Order().Should().Equal(Enumerable.Range(1, sku.Count()).Select(i => (long)i), $"{sku.Key}'s sequence has no gap");
        }

        var seen = bodies.Values.Select(b => Key(b.GetProperty("type").GetString()!, b.GetProperty("data"))).ToHashSet();
        foreach (var (orderId, sku, batchRef) in traffic.Allocated)
        {
            seen.Should().Contain(("allocation.line.allocated", orderId, batchRef, sku), $"the 201 for {orderId} has its allocated event");
        }

        foreach (var (orderId, _, batchRef) in traffic.Deallocated)
        {
            seen.Should().Contain(("allocation.line.deallocated", orderId, batchRef, "requested"), $"the deallocation of {orderId} has its event");
        }

        foreach (var moved in traffic.Changed.SelectMany(c => c.GetProperty("reallocated").EnumerateArray()))
        {
            seen.Should().Contain(("allocation.line.reallocated", Text(moved, "orderid"), Text(moved, "from"), Text(moved, "to")),
                $"the reallocation of {Text(moved, "orderid")} has its event");
        }

        var dropped = seen.Where(e => e.Type == "allocation.line.deallocated" && e.C == "batch_reduced").Select(e => e.OrderId).ToHashSet();
        foreach (var line in traffic.Changed.SelectMany(c => c.GetProperty("unallocated").EnumerateArray()))
        {
            dropped.Should().Contain(Text(line, "orderid"), "a line taken off a reduced batch has its deallocated event");
        }

        return outbox;
    }

    /// <summary>GET /events serves, for each event, the very envelope the broker carried, plus its position.</summary>
    private async Task TheFeedServesTheSameEnvelopesAsync(EventConsumer consumer)
    {
        var bodies = consumer.Received.GroupBy(m => m.MessageId!).ToDictionary(g => g.Key, g => JsonNode.Parse(g.First().Body)!);
        var served = new List<string>();
        string? cursor = null;
        while (true)
        {
            var page = await _instances[1].Client.GetFromJsonAsync<JsonElement>(
                new Uri("/events?limit=1000" + (cursor is null ? "" : "&after=" + Uri.EscapeDataString(cursor)), UriKind.Relative));
            var events = page.GetProperty("events").EnumerateArray().ToList();
            if (events.Count == 0)
            {
                break;
            }

            foreach (var feedEvent in events)
            {
                var node = JsonNode.Parse(feedEvent.GetRawText())!.AsObject();
                node.Remove("position").Should().BeTrue("the feed adds its position");
                JsonNode.DeepEquals(node, bodies[node["id"]!.GetValue<string>()]).Should().BeTrue(node.ToJsonString());
                served.Add(node["id"]!.GetValue<string>());
            }

            cursor = page.GetProperty("cursor").GetString();
        }

        served.Should().OnlyHaveUniqueItems("the feed serves each event once").And.BeEquivalentTo(bodies.Keys);
    }

    private async Task<long> CountAsync(string where)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM outbox WHERE {where}";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<string?> HealthAsync(HttpClient client)
    {
        using var response = await client.GetAsync(new Uri("/health", UriKind.Relative));
        return response.StatusCode == HttpStatusCode.OK
            ? (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString()
            : $"HTTP {(int)response.StatusCode}";
    }

    private static string Text(JsonElement data, string name) => data.GetProperty(name).GetString()!;

    /// <summary>What identifies an event for the checks: its type, order, and the two fields that say where the line went.</summary>
    private static (string Type, string OrderId, string? B, string? C) Key(string type, JsonElement data) => type switch
    {
        "allocation.line.allocated" => (type, Text(data, "orderid"), Text(data, "batchref"), Text(data, "sku")),
        "allocation.line.deallocated" => (type, Text(data, "orderid"), Text(data, "batchref"), Text(data, "reason")),
        "allocation.line.reallocated" => (type, Text(data, "orderid"), Text(data, "from"), Text(data, "to")),
        _ => (type, data.TryGetProperty("orderid", out var order) ? order.GetString()! : "", null, null),
    };

    private static Task WaitUntilAsync(Func<bool> condition, string because) =>
        WaitUntilAsync(() => Task.FromResult(condition()), because);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string because)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Not within {Limit}: {because}");
            }

            await Task.Delay(50);
        }
    }

    private string ErrorLines() => string.Join('\n', _instances.SelectMany(i => i.Output.Split('\n'))
        .Where(line => line.Contains("fail:", StringComparison.Ordinal) || line.Contains("Exception", StringComparison.Ordinal)).Take(40));

    private static string Summary(EventsTraffic traffic) =>
        string.Join(", ", traffic.Statuses.GroupBy(s => s).OrderBy(g => g.Key).Select(g => $"{g.Key}={g.Count()}"));

    private sealed record OutboxRow(Guid EventId, string Type, string Subject, long SkuSequence, string Data);
}
