using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// Issue 20: whole orders sent concurrently to two API processes on one database, over a hot set of
/// SKUs with far less stock than demand. Never oversold, every order wholly allocated or wholly not,
/// and the database holds exactly what the answers said. Runs alone: the race has to happen.
/// </summary>
[NonParallelizable]
public class OrderMultiInstanceTests
{
    /// <summary>ConflictRetry's event 1001: one line per retried conflict, logged at Debug.</summary>
    private const string RetryEvent = "ConflictRetry[1001]";
    private ApiFleet _fleet = null!;

    [OneTimeSetUp]
    public async Task StartTwoInstances()
    {
        var settings = new Dictionary<string, string>
        {
            ["Logging:LogLevel:Allocation.Application.Common.ConflictRetry"] = "Debug",
        };
        _fleet = await ApiFleet.StartAsync(2, settings);
    }

    [OneTimeTearDown]
    public async Task StopThem() => await _fleet.DisposeAsync();

    private sealed record Answer(string OrderId, (string Sku, int Qty)[] Lines, int Status, string Body);

    [Test]
    public async Task Concurrent_orders_on_hot_skus_are_never_oversold_and_wholly_allocated_or_not_as_answered()
    {
        const int clients = 32;
        const int orders = 200;
        var stem = Unique.Sku("hot");
        var skus = Enumerable.Range(0, 5).Select(i => $"{stem}-{i}").ToArray();
        foreach (var sku in skus)
        {
            await _fleet.Instances[0].Client.AddBatchAsync(Unique.BatchRef("wh"), sku, 25, null);
            await _fleet.Instances[0].Client.AddBatchAsync(Unique.BatchRef("ship"), sku, 25, "2030-01-01");
        }

        var retriesBefore = _fleet.Instances.Sum(i => i.CountOutputLines(RetryEvent));
        var answers = new ConcurrentBag<Answer>();
        var repeats = new ConcurrentBag<(Answer First, int Status, string Body)>();
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            var random = new Random(client);
            int n;
            while ((n = Interlocked.Increment(ref next)) < orders)
            {
                var orderId = Unique.OrderId(n.ToString(CultureInfo.InvariantCulture));
                var lines = skus.OrderBy(_ => random.Next()).Take(random.Next(1, 5)).Select(s => (s, random.Next(1, 5))).ToArray();
                var body = new { lines = lines.Select(l => new { sku = l.Item1, qty = l.Item2 }) };
                var path = new Uri($"/orders/{orderId}/allocation", UriKind.Relative);
                using var response = await _fleet.Instances[n % 2].Client.PostAsJsonAsync(path, body);
                var answer = new Answer(orderId, lines, (int)response.StatusCode, await response.Content.ReadAsStringAsync());
                answers.Add(answer);
                if (n % 8 == 0)
                {
                    // The same order again, lines reversed, on the other instance: the same answer.
                    var reversed = new { lines = lines.Reverse().Select(l => new { sku = l.Item1, qty = l.Item2 }) };
                    using var again = await _fleet.Instances[(n + 1) % 2].Client.PostAsJsonAsync(path, reversed);
                    repeats.Add((answer, (int)again.StatusCode, await again.Content.ReadAsStringAsync()));
                }
            }
        })));
        clock.Stop();
        await Task.Delay(200); // let the last log lines arrive
        var retries = _fleet.Instances.Sum(i => i.CountOutputLines(RetryEvent)) - retriesBefore;
        var counts = answers.GroupBy(a => a.Status).ToDictionary(g => g.Key, g => g.Count());
        TestContext.Progress.WriteLine(
            $"orders: {orders} orders of 1-4 lines on {skus.Length} SKUs, {_fleet.Instances.Count} instances, {clients} clients, " +
            $"{clock.Elapsed.TotalSeconds:F1} s: " + string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Key}={c.Value}")) +
            $", conflict retries={retries}");

        answers.Should().HaveCount(orders);
        answers.Should().OnlyContain(a => a.Status == 201 || a.Status == 400 || a.Status == 409, "contention never surfaces as a 5xx");
        counts.GetValueOrDefault(201).Should().BeGreaterThan(0);
        counts.GetValueOrDefault(400).Should().BeGreaterThan(0, "demand was sized to exceed the stock");
        retries.Should().BeGreaterThan(0, "the instances must have raced on products, or the test did not exercise the race");
        // Every answer an order got, first and repeat: the database must agree with all of them.
        var byOrder = answers.ToDictionary(
            a => a.OrderId,
            a => new List<(int Status, string Body)> { (a.Status, a.Body) }.Concat(
                repeats.Where(r => r.First.OrderId == a.OrderId).Select(r => (r.Status, r.Body))).ToList());
        repeats.Should().NotBeEmpty();
        foreach (var (first, status, body) in repeats.Where(r => r.First.Status == 201))
        {
            (status, body).Should().Be((201, first.Body), "a repeat of an allocated order answers the same");
        }

        (await _fleet.Store.ScalarAsync<long>(
            "SELECT count(*) FROM batches WHERE sku = ANY(@skus) AND allocated_quantity > purchased_quantity", new { skus }))
            .Should().Be(0, "never oversold");
        (await _fleet.Store.ScalarAsync<long>(
            """
            SELECT count(*) FROM batches b WHERE b.sku = ANY(@skus) AND b.allocated_quantity <>
              (SELECT coalesce(sum(ol.qty), 0) FROM allocations a JOIN order_lines ol ON ol.id = a.orderline_id WHERE a.batch_id = b.id)
            """, new { skus })).Should().Be(0, "running totals equal their lines");

        var stored = (await _fleet.Store.QueryAsync<(string OrderId, string Sku, int Qty, string BatchRef)>(
            """
            SELECT ol.orderid, ol.sku, ol.qty, b.reference FROM order_lines ol
            JOIN allocations a ON a.orderline_id = ol.id JOIN batches b ON b.id = a.batch_id
            WHERE ol.sku = ANY(@skus)
            """, new { skus })).ToLookup(l => l.OrderId, l => (l.Sku, l.Qty, l.BatchRef));
        var orderEvents = (await _fleet.Store.QueryAsync<(string OrderId, string Type)>(
            "SELECT data->>'orderid', type FROM outbox WHERE type LIKE 'allocation.order.%' AND data->>'orderid' = ANY(@ids)",
            new { ids = byOrder.Keys.ToArray() })).ToLookup(e => e.OrderId, e => e.Type);
        stored.Select(g => g.Key).Should().BeSubsetOf(byOrder.Keys, "no line was stored for an order nobody asked for");
        foreach (var (orderId, got) in byOrder)
        {
            var allocated = got.Where(a => a.Status == 201).Select(a => a.Body).Distinct().ToList();
            allocated.Should().HaveCountLessThanOrEqualTo(1, $"every 201 for order {orderId} is the same answer");
            var expected = allocated.Count == 0 ? [] : JsonDocument.Parse(allocated[0]).RootElement.GetProperty("lines").EnumerateArray()
                .Select(l => (l.GetProperty("sku").GetString()!, l.GetProperty("qty").GetInt32(), l.GetProperty("batchref").GetString()!))
                .ToList();
            stored[orderId].OrderBy(l => l.Sku, StringComparer.Ordinal).Should().Equal(expected,
                $"order {orderId} answered {string.Join(", ", got.Select(a => a.Status))}: wholly allocated as answered, or nothing");
            if (allocated.Count > 0)
            {
                expected.Select(l => (l.Item1, l.Item2)).Should().BeEquivalentTo(answers.Single(a => a.OrderId == orderId).Lines);
            }

            orderEvents[orderId].Count(t => t == "allocation.order.allocated").Should().Be(allocated.Count,
                "one order event when it was allocated, none for a repeat");
            orderEvents[orderId].Count(t => t == "allocation.order.rejected").Should().Be(got.Count(a => a.Status == 400),
                "one rejection per refused call");
        }
    }
}
