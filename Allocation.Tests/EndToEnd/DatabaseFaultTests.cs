using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Allocation.Api.Errors;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// The database goes away under traffic, and comes back. Uses a private cluster of its own, and runs
/// alone: its API process must notice the outage and recover within fixed waits.
/// </summary>
[NonParallelizable]
public class DatabaseFaultTests
{
    [Test]
    public async Task While_the_database_is_down_requests_get_503_and_the_service_recovers_by_itself_without_partial_rows()
    {
        var database = await TestDatabase.CreateAsync(privateCluster: true);
        try
        {
            var cluster = database.Cluster!;
            await using var api = await ApiProcess.StartAsync(database.ServiceConnectionString);
            var sku = Unique.Sku();
            await api.Client.AddBatchAsync(Unique.BatchRef(), sku, 1_000_000);

            var outcomes = new ConcurrentQueue<(string Phase, int Status, string? RetryAfter, string OrderId)>();
            var phase = "before";
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var traffic = Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var orderId = Unique.OrderId();
                    var current = Volatile.Read(ref phase);
                    using var response = await api.Client.PostAsJsonAsync("/allocate", new { orderid = orderId, sku, qty = 1 }, CancellationToken.None);
                    outcomes.Enqueue((current, (int)response.StatusCode, response.Headers.RetryAfter?.ToString(), orderId));
                    if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                    {
                        await response.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable, ProblemTypes.ServiceUnavailable);
                        await Task.Delay(50, CancellationToken.None);
                    }
                }
            })));

            await WaitUntil(() => outcomes.Count(o => o.Status == 201) >= 20, "traffic flowing before the fault");
            Volatile.Write(ref phase, "down");
            await cluster.StopAsync();
            await WaitUntil(() => outcomes.Count(o => o.Phase == "down" && o.Status == 503) >= 5, "503s while the database is down");
            var health = await api.Client.GetAsync(new Uri("/health", UriKind.Relative));
            health.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);

            await cluster.StartAgainAsync();
            Volatile.Write(ref phase, "after");
            await WaitUntil(() => outcomes.Count(o => o.Phase == "after" && o.Status == 201) >= 20, "recovery without a restart");
            await stop.CancelAsync();
            await traffic;

            var counts = outcomes.GroupBy(o => (o.Phase, o.Status)).ToDictionary(g => g.Key, g => g.Count());
            TestContext.Progress.WriteLine("fault: " + string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Key.Phase}/{c.Key.Status}={c.Value}")));
            outcomes.Should().OnlyContain(o => o.Status == 201 || o.Status == 503, "a fault is a 503, never a 500");
            outcomes.Where(o => o.Status == 503).Should().OnlyContain(o => o.RetryAfter == "5");
            (await api.Client.GetAsync(new Uri("/health", UriKind.Relative))).StatusCode.Should().Be(HttpStatusCode.OK);
            api.HasExited.Should().BeFalse();

            database.DataSource.Clear(); // the test's own pooled connections died with the server
            await using var store = new Store(database);
            var confirmed = outcomes.Where(o => o.Status == 201).Select(o => o.OrderId).ToArray();
            (await store.ScalarAsync<long>("SELECT count(*) FROM order_lines WHERE orderid = ANY(@confirmed)", new { confirmed }))
                .Should().Be(confirmed.Length, "every 201 is durable");
            (await store.ScalarAsync<long>("SELECT count(*) FROM order_lines ol LEFT JOIN allocations a ON a.orderline_id = ol.id WHERE a.orderline_id IS NULL"))
                .Should().Be(0, "no line without its allocation");
            (await store.ScalarAsync<long>("SELECT allocated_quantity - (SELECT count(*) FROM order_lines WHERE sku = @sku) FROM batches WHERE sku = @sku", new { sku }))
                .Should().Be(0, "the running total matches the lines that were committed");
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    [Test]
    public async Task Start_up_waits_for_a_database_that_is_not_up_yet()
    {
        var database = await TestDatabase.CreateAsync(privateCluster: true);
        try
        {
            await database.Cluster!.StopAsync();
            await using var api = await ApiProcess.StartAsync(database.ServiceConnectionString, waitUntilHealthy: false);
            await Task.Delay(TimeSpan.FromSeconds(2));
            api.HasExited.Should().BeFalse("start-up must wait for the database, not crash");

            await database.Cluster.StartAgainAsync();

            await api.WaitUntilHealthyAsync(TimeSpan.FromSeconds(30));
            api.Output.Should().Contain("Database not reachable yet");
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    private static async Task WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for {what}");
            }

            await Task.Delay(50);
        }
    }
}
