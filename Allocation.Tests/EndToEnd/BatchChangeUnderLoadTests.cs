using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Allocation.Tests.Support;
using Dapper;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// A batch change must make progress against steady allocation traffic (issue 19 §4, ADR 10): three
/// API processes on a private cluster with PostgreSQL's defaults, six clients allocating the SKU
/// without pause, and PATCHes of its batch of 3,000 lines in between. Runs alone, like
/// <see cref="MultiInstanceTests"/>: the race has to happen.
/// </summary>
[NonParallelizable]
public class BatchChangeUnderLoadTests
{
    private ApiFleet _fleet = null!;

    [OneTimeSetUp]
    public async Task StartThreeInstances()
    {
        _fleet = await ApiFleet.StartAsync(3);
    }

    [OneTimeTearDown]
    public async Task StopThem() => await _fleet.DisposeAsync();

    private HttpClient Instance(int i) => _fleet.Instance(i);

    [Test]
    public async Task Twenty_patches_of_a_batch_with_3000_lines_all_answer_200_while_six_clients_allocate_across_three_instances()
    {
        const int lines = 3_000;
        const int patches = 20;
        const int clients = 6;
        var (sku, full, room) = (Unique.Sku(), Unique.BatchRef("full"), Unique.BatchRef("room"));
        await Instance(0).AddBatchAsync(full, sku, lines);
        await Instance(0).AddBatchAsync(room, sku, 1_000_000, "2030-01-01");
        await using (var connection = await _fleet.Store.OpenAsync())
        {
            // 3,000 one-unit lines on the warehouse batch, as that many allocations would leave them.
            await connection.ExecuteAsync(
                """
                WITH line AS (
                    INSERT INTO order_lines (orderid, sku, qty)
                    SELECT 'seed-' || @sku || '-' || g, @sku, 1 FROM generate_series(1, @lines) g ORDER BY g
                    RETURNING id
                )
                INSERT INTO allocations (orderline_id, batch_id) SELECT line.id, (SELECT id FROM batches WHERE reference = @full) FROM line;
                UPDATE batches SET allocated_quantity = @lines WHERE reference = @full;
                """,
                new { sku, full, lines });
        }

        using var stop = new CancellationTokenSource();
        var allocationStatuses = new ConcurrentBag<int>();
        var allocating = Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            for (var n = client; !stop.IsCancellationRequested; n += clients)
            {
                using var response = await Instance(n).PostAsJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku, qty = 1 });
                allocationStatuses.Add((int)response.StatusCode);
            }
        })).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(2)); // steady traffic before the first change

        var answers = new List<(int Status, TimeSpan Took, string Body)>();
        var quantity = lines;
        for (var i = 0; i < patches; i++)
        {
            // Half change the ETA only (no line loaded); half take five lines off (the batch's lines loaded, five moved).
            object change = i % 2 == 0
                ? new { eta = new DateOnly(2026, 12, 1).AddDays(i).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) }
                : new { qty = quantity -= 5 };
            var clock = Stopwatch.StartNew();
            using var response = await Instance(i).PatchAsJsonAsync($"/batches/{full}", change);
            answers.Add(((int)response.StatusCode, clock.Elapsed, await response.Content.ReadAsStringAsync()));
        }

        var allocatedDuringPatches = allocationStatuses.Count(s => s == 201);
        await stop.CancelAsync();
        await Task.WhenAll(allocating);

        await TestContext.Progress.WriteLineAsync(
            $"{patches} PATCHes under {clients} allocating clients: " +
            string.Join(", ", answers.GroupBy(a => a.Status).Select(g => $"{g.Key}={g.Count()}")) +
            $"; PATCH ms median {answers.Select(a => a.Took.TotalMilliseconds).Order().ElementAt(patches / 2):F0}, max {answers.Max(a => a.Took.TotalMilliseconds):F0}" +
            $"; allocations {string.Join(", ", allocationStatuses.GroupBy(s => s).OrderBy(g => g.Key).Select(g => $"{g.Key}={g.Count()}"))}");
        answers.Should().OnlyContain(a => a.Status == 200, "a batch change takes the product's lock and cannot lose to allocations");
        allocatedDuringPatches.Should().BeGreaterThan(patches, "allocations went on while the batch changed, or the test proves nothing");
        allocationStatuses.Should().OnlyContain(s => s == 201, "the allocations lose no request either: they wait for the change and retry");
        (await _fleet.Store.ScalarAsync<int>("SELECT purchased_quantity FROM batches WHERE reference = @full", new { full })).Should().Be(quantity);
        (await _fleet.Store.ScalarAsync<long>(
            """
            SELECT count(*) FROM batches b WHERE b.sku = @sku AND (b.allocated_quantity > b.purchased_quantity OR b.allocated_quantity <>
              (SELECT coalesce(sum(ol.qty), 0) FROM allocations a JOIN order_lines ol ON ol.id = a.orderline_id WHERE a.batch_id = b.id))
            """, new { sku })).Should().Be(0, "running totals equal their lines and nothing is oversold");
    }
}
