using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// Three API processes on one database of a private cluster with PostgreSQL's default
/// max_connections (100), hammered by many concurrent clients. Runs alone: the processes and
/// clients take both cores, and the race has to happen within the service's retry budget.
/// </summary>
[NonParallelizable]
public class MultiInstanceTests
{
    /// <summary>ConflictRetry's event 1001: one line per retried conflict, logged at Debug.</summary>
    private const string RetryEvent = "ConflictRetry[1001]";
    private ApiFleet _fleet = null!;

    [OneTimeSetUp]
    public async Task StartThreeInstances()
    {
        var settings = new Dictionary<string, string>
        {
            ["Logging:LogLevel:Allocation.Application.Common.ConflictRetry"] = "Debug",
        };
        _fleet = await ApiFleet.StartAsync(3, settings);
    }

    [OneTimeTearDown]
    public async Task StopThem() => await _fleet.DisposeAsync();

    private HttpClient Instance(int i) => _fleet.Instance(i);

    private Task AddBatchAsync(string reference, string sku, int quantity, string? eta) =>
        Instance(0).AddBatchAsync(reference, sku, quantity, eta);

    [Test]
    public async Task Many_clients_across_three_instances_never_oversell_and_never_see_a_5xx()
    {
        // Few SKUs and many clients: the instances must race on each product, or this proves nothing.
        const int clients = 48;
        const int requests = 480;
        var skus = Enumerable.Range(0, 3).Select(i => Unique.Sku(i.ToString(CultureInfo.InvariantCulture))).ToArray();
        foreach (var sku in skus)
        {
            await AddBatchAsync(Unique.BatchRef("wh"), sku, 100, null);
            await AddBatchAsync(Unique.BatchRef("ship"), sku, 100, "2030-01-01");
        }

        var retriesBefore = _fleet.Instances.Sum(i => i.CountOutputLines(RetryEvent));
        var statuses = new ConcurrentBag<int>();
        var allocated = new ConcurrentBag<(string OrderId, string Sku, string BatchRef)>();
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            var random = new Random(client);
            int n;
            while ((n = Interlocked.Increment(ref next)) < requests)
            {
                var (orderId, sku, qty) = (Unique.OrderId(), skus[random.Next(skus.Length)], random.Next(1, 4));
                using var response = await Instance(n).PostAsJsonAsync("/allocate", new { orderid = orderId, sku, qty });
                statuses.Add((int)response.StatusCode);
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                    allocated.Add((orderId, sku, body.GetProperty("batchref").GetString()!));
                }
            }
        })));
        clock.Stop();
        await Task.Delay(200); // let the last log lines arrive
        var retries = _fleet.Instances.Sum(i => i.CountOutputLines(RetryEvent)) - retriesBefore;

        var counts = statuses.GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());
        TestContext.Progress.WriteLine(
            $"stress: {requests} allocations, {_fleet.Instances.Count} instances, {clients} clients, {clock.Elapsed.TotalSeconds:F1} s: " +
            string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Key}={c.Value}")) + $", conflict retries={retries}");

        statuses.Should().HaveCount(requests);
        statuses.Should().OnlyContain(s => s == 201 || s == 400 || s == 409, "contention must never surface as a 5xx");
        counts.GetValueOrDefault(201).Should().BeGreaterThan(0);
        counts.GetValueOrDefault(400).Should().BeGreaterThan(0, "demand was sized to exceed the stock");
        retries.Should().BeGreaterThan(0, "the instances must have raced on a product, or the test did not exercise the race");

        (await _fleet.Store.ScalarAsync<long>(
            "SELECT count(*) FROM batches WHERE sku = ANY(@skus) AND allocated_quantity > purchased_quantity", new { skus }))
            .Should().Be(0);
        (await _fleet.Store.ScalarAsync<long>(
            """
            SELECT count(*) FROM batches b WHERE b.sku = ANY(@skus) AND b.allocated_quantity <>
              (SELECT coalesce(sum(ol.qty), 0) FROM allocations a JOIN order_lines ol ON ol.id = a.orderline_id WHERE a.batch_id = b.id)
            """, new { skus })).Should().Be(0, "running totals equal their lines");
        foreach (var (orderId, sku, batchRef) in allocated)
        {
            var listed = await Instance(1).GetFromJsonAsync<JsonElement>(new Uri($"/allocations/{orderId}", UriKind.Relative));
            listed.EnumerateArray().Select(e => (e.GetProperty("sku").GetString(), e.GetProperty("batchref").GetString()))
                .Should().Equal((sku, batchRef));
        }
    }

    [Test]
    public async Task A_repeated_allocation_across_instances_sequential_and_concurrent_allocates_once()
    {
        var sku = Unique.Sku();
        var (first, second) = (Unique.BatchRef("first"), Unique.BatchRef("second"));
        await AddBatchAsync(first, sku, 4, null);
        await AddBatchAsync(second, sku, 100, "2030-01-01");
        var sequential = new { orderid = Unique.OrderId("seq"), sku, qty = 4 };
        var concurrent = new { orderid = Unique.OrderId("conc"), sku, qty = 4 };

        var sequentialAnswers = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await Instance(i).PostAsJsonAsync("/allocate", sequential);
            response.StatusCode.Should().Be(HttpStatusCode.Created);
            sequentialAnswers.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("batchref").GetString()!);
        }

        var concurrentAnswers = await Task.WhenAll(Enumerable.Range(0, 16).Select(async i =>
        {
            using var response = await Instance(i).PostAsJsonAsync("/allocate", concurrent);
            response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("batchref").GetString()!;
        }));

        sequentialAnswers.Should().AllBe(first, "the first batch was still free, and a repeat must not move to the second");
        concurrentAnswers.Should().AllBe(second);
        (await _fleet.Store.ScalarAsync<long>("SELECT coalesce(sum(qty), 0) FROM order_lines WHERE sku = @sku", new { sku })).Should().Be(8);
        (await _fleet.Store.ScalarAsync<long>("SELECT sum(allocated_quantity) FROM batches WHERE sku = @sku", new { sku })).Should().Be(8);

        using var changed = await Instance(1).PostAsJsonAsync("/allocate", sequential with { qty = 3 });
        var problem = await changed.ShouldBeProblemAsync(HttpStatusCode.Conflict);
        problem.GetProperty("detail").GetString().Should().Contain(first);
    }
}
