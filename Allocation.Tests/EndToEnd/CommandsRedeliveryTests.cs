using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Application.Batches;
using Allocation.Tests.Integration;
using Allocation.Tests.Support;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// Commands through RabbitMQ to two instances of the API under a redelivery storm: every command
/// published three times, one instance killed with SIGKILL while it works through them, the broker
/// restarted under the other, the killed one started again. Then the database and the outbox are
/// compared with the commands sent: each command's effect, or its rejection, exactly once. A control
/// group of orders is sent once only: the storm's copies would hide a command lost by the kill.
/// </summary>
[NonParallelizable]
public class CommandsRedeliveryTests
{
    private const int Copies = 3;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    private TestDatabase _database = null!;
    private PrivateRabbitMq _broker = null!;
    private readonly List<ApiProcess> _instances = [];

    [OneTimeSetUp]
    public async Task Start()
    {
        var starting = TestDatabase.OwnAsync();
        _broker = await PrivateRabbitMq.StartAsync();
        _database = await starting;
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        await _broker.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Test]
    public async Task Every_command_takes_effect_exactly_once_through_duplicates_a_killed_consumer_and_a_broker_restart()
    {
        // Four SKUs, one batch each, with room for every order.
        var skus = Enumerable.Range(0, 4).Select(i => Unique.Sku($"cmd{i}")).ToArray();
        var batches = skus.Select(_ => Unique.BatchRef("cmd")).ToArray();
        await using (var store = new Store(_database))
        {
            await using var scope = store.Get<IServiceScopeFactory>().CreateAsyncScope();
            for (var i = 0; i < skus.Length; i++)
            {
                await scope.ServiceProvider.GetRequiredService<BatchService>().AddBatchAsync(batches[i], skus[i], 1000, eta: null, CancellationToken.None);
            }
        }

        var orders = Enumerable.Range(0, 200).Select(i => (
            Id: Unique.OrderId("cmd"),
            OrderId: Unique.OrderId(),
            Lines: new[] { (Sku: skus[i % 4], Qty: 1 + (i % 3)), (Sku: skus[(i + 1) % 4], Qty: 2) })).ToList();
        // Two changes of each batch: were either applied twice, its batch.changed events would not be one per command.
        var changes = batches.SelectMany(reference => new[] { (Id: Unique.OrderId("chg"), Ref: reference, Qty: 900), (Id: Unique.OrderId("chg"), Ref: reference, Qty: 950) }).ToList();
        var unknown = Enumerable.Range(0, 4).Select(_ => (Id: Unique.OrderId("bad"), OrderId: Unique.OrderId(), Sku: Unique.Sku("none"))).ToList();
        // Every fifth order is the control group: one copy, sent before the kill.
        var once = orders.Where((_, i) => i % 5 == 4).Select(o => o.Id).ToHashSet();
        var sends = new List<(string Id, Func<CommandsBroker, Task> Send)>();
        sends.AddRange(orders.Select(o => (o.Id, (Func<CommandsBroker, Task>)(s => s.PublishAsync(o.Id, "allocation.order.allocate",
            new { orderid = o.OrderId, lines = o.Lines.Select(l => new { sku = l.Sku, qty = l.Qty }).ToArray() })))));
        sends.AddRange(changes.Select(c => (c.Id, (Func<CommandsBroker, Task>)(s => s.PublishAsync(c.Id, "allocation.batch.change", new { @ref = c.Ref, qty = c.Qty })))));
        sends.AddRange(unknown.Select(u => (u.Id, (Func<CommandsBroker, Task>)(s => s.PublishAsync(u.Id, "allocation.order.allocate",
            new { orderid = u.OrderId, lines = new[] { new { sku = u.Sku, qty = 1 } } })))));
        var commandIds = orders.Select(o => o.Id).Concat(changes.Select(c => c.Id)).Concat(unknown.Select(u => u.Id)).ToHashSet();

        // Two copies of everything, the second right behind the first, queued before the instances start.
        await using (var sender = await CommandsBroker.ConnectAsync(_broker.Uri))
        {
            await sender.DeclareAsync(maxDeliveries: 10);
            foreach (var (id, send) in sends)
            {
                await send(sender);
                if (!once.Contains(id))
                {
                    await send(sender);
                }
            }
        }

        _instances.AddRange(await ApiProcess.StartManyAsync(2, _database.ServiceConnectionString, Settings()));

        // Kill one consumer with SIGKILL while the commands are being worked through.
        await WaitUntilAsync(async () => await HandledAsync() >= 10, "the first commands handled", poll: TimeSpan.FromMilliseconds(10));
        var handledAtKill = await HandledAsync();
        await _instances[0].DisposeAsync();
        _instances.RemoveAt(0);
        handledAtKill.Should().BeLessThan(commandIds.Count, "the kill came in the middle of the commands");

        // Restart the broker under the other one; it must come back to consuming by itself.
        await _broker.StopAsync();
        await WaitUntilAsync(async () => await HealthAsync(_instances[0]) == "Degraded", "the survivor reports it cannot consume");
        await _broker.StartAgainAsync();

        // The third copy of everything, and the killed instance started again.
        await using (var sender = await CommandsBroker.ConnectAsync(_broker.Uri))
        {
            foreach (var (_, send) in sends.Where(s => !once.Contains(s.Id)))
            {
                await send(sender);
            }
        }

        _instances.Add(await ApiProcess.StartAsync(_database.ServiceConnectionString, Settings()));
        await WaitUntilAsync(async () => await MessagesAsync("allocation.commands") == 0, "every copy consumed and acknowledged");
        await WaitUntilAsync(async () => await HealthAsync(_instances[0]) == "Healthy" && await HealthAsync(_instances[1]) == "Healthy", "both consume again");

        await using var connection = await _database.DataSource.OpenConnectionAsync();

        var lines = (await connection.QueryAsync<(string OrderId, string Sku, int Qty, string Batch)>("""
            SELECT l.orderid, l.sku, l.qty, b.reference
            FROM order_lines l JOIN allocations a ON a.orderline_id = l.id JOIN batches b ON b.id = a.batch_id
            """)).ToList();
        lines.Select(l => (l.OrderId, l.Sku, l.Qty)).Should().BeEquivalentTo(
            orders.SelectMany(o => o.Lines.Select(l => (o.OrderId, l.Sku, l.Qty))), "every order allocated once, line for line");
        var allocatedEvents = (await connection.QueryAsync<string>(
            "SELECT data ->> 'orderid' FROM outbox WHERE type = 'allocation.order.allocated'")).ToList();
        allocatedEvents.Should().BeEquivalentTo(orders.Select(o => o.OrderId), "one allocation.order.allocated per order");
        (await connection.QueryAsync<(string Ref, int Qty)>(
            "SELECT data ->> 'ref', (data -> 'qty' ->> 'after')::int FROM outbox WHERE type = 'allocation.batch.changed'"))
            .Should().BeEquivalentTo(changes.Select(c => (c.Ref, c.Qty)), "each change applied once");
        (await connection.QueryAsync<string>("SELECT data ->> 'commandid' FROM outbox WHERE type = 'allocation.command.rejected'"))
            .Should().BeEquivalentTo(unknown.Select(u => u.Id), "each unknown SKU rejected once");
        (await connection.QueryAsync<(string Ref, int Allocated)>("SELECT reference, allocated_quantity FROM batches"))
            .Should().BeEquivalentTo(batches.Select(b => (b, lines.Where(l => l.Batch == b).Sum(l => l.Qty))), "each batch's total is its lines'");

        (await connection.QueryAsync<string>("SELECT key FROM idempotency_keys WHERE caller = 'amqp:allocation.commands'"))
            .Should().BeEquivalentTo(commandIds, "the inbox holds each command once");
        await using var deadLetters = await CommandsBroker.ConnectAsync(_broker.Uri);
        (await deadLetters.DrainDeadLettersAsync()).Should().BeEmpty("no command was lost to the dead-letter queue");
        _instances[0].CountOutputLines("Command consumer: broker unavailable").Should().BePositive("the outage was logged");
        var metrics = await _instances[0].Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        metrics.Should().Contain("allocation_commands_handled_total{", "the consumer's counters are exported");
        _instances[0].CountOutputLines("RabbitMQ.Client.Exceptions").Should().Be(0, "an outage is logged without exception dumps");
        TestContext.Progress.WriteLine(
            $"commands: {commandIds.Count - once.Count} x {Copies} copies and {once.Count} x 1; handled when killed: {handledAtKill}; " +
            $"order lines: {lines.Count}; events: {await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM outbox")}");
    }

    private Dictionary<string, string> Settings() => new()
    {
        ["ConnectionStrings:Broker"] = _broker.Uri.ToString(),
        ["Events:Commands:Prefetch"] = "8",
        ["Events:Commands:FirstRetryDelay"] = "00:00:00.100",
        ["Events:Commands:LongestRetryDelay"] = "00:00:01",
        ["Events:RelayIdleDelay"] = "00:00:00.100",
    };

    /// <summary>The answers in the outbox so far: one per command handled (more if one took effect twice).</summary>
    private async Task<long> HandledAsync()
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM outbox WHERE type IN ('allocation.order.allocated', 'allocation.batch.changed', 'allocation.command.rejected')");
    }

    /// <summary>Ready and unacknowledged, as rabbitmqctl counts them.</summary>
    private async Task<int> MessagesAsync(string queue)
    {
        var lines = (await _broker.CtlAsync("list_queues", "-q", "name", "messages")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return lines.Select(line => line.Split('\t')).Where(f => f[0] == queue)
            .Select(f => int.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture)).Single();
    }

    private static async Task<string?> HealthAsync(ApiProcess instance)
    {
        try
        {
            using var response = await instance.Client.GetAsync(new Uri("/health", UriKind.Relative));
            return response.StatusCode == HttpStatusCode.OK
                ? (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString()
                : $"HTTP {(int)response.StatusCode}";
        }
        catch (HttpRequestException error)
        {
            return error.Message;
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string because, TimeSpan? poll = null)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Not within {Limit}: {because}");
            }

            await Task.Delay(poll ?? TimeSpan.FromMilliseconds(100));
        }
    }
}
