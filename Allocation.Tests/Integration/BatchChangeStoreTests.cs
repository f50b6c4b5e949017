using System.Diagnostics;
using Allocation.Application;
using Allocation.Application.Batches;
using Allocation.Domain;
using Allocation.Tests.Support;
using Dapper;

namespace Allocation.Tests.Integration;

/// <summary>
/// A batch change against real PostgreSQL: set-based moves whatever the number of lines (issue 19
/// §3), and the product's row lock that lets a batch change win against allocations (ADR 10).
/// </summary>
public class BatchChangeStoreTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>Gives a batch <paramref name="lines"/> one-unit lines, oldest first, as that many allocations would.</summary>
    private static async Task SeedLinesAsync(Store store, string sku, string batchReference, string orderPrefix, int lines)
    {
        await using var connection = await store.OpenAsync();
        await connection.ExecuteAsync(
            """
            WITH line AS (
                INSERT INTO order_lines (orderid, sku, qty)
                SELECT @orderPrefix || lpad(g::text, 6, '0'), @sku, 1 FROM generate_series(1, @lines) g ORDER BY g
                RETURNING id
            )
            INSERT INTO allocations (orderline_id, batch_id)
            SELECT line.id, (SELECT id FROM batches WHERE reference = @batchReference) FROM line;
            UPDATE batches SET allocated_quantity = allocated_quantity + @lines WHERE reference = @batchReference;
            """,
            new { sku, batchReference, orderPrefix, lines });
    }

    [Test]
    public async Task A_reduction_of_ten_thousand_lines_accounts_for_every_line_total_and_event_in_one_transaction()
    {
        const int lines = 10_000;
        const int room = 6_000;
        await using var store = new Store(await TestDatabase.SharedAsync());
        var batches = store.Get<BatchService>();
        var (sku, reduced, other) = (Unique.Sku(), Unique.BatchRef("r"), Unique.BatchRef("o"));
        await batches.AddBatchAsync(reduced, sku, lines, null, None);
        await batches.AddBatchAsync(other, sku, room, new DateOnly(2027, 1, 1), None);
        var prefix = Unique.OrderId("bulk-");
        await SeedLinesAsync(store, sku, reduced, prefix, lines);
        var eventsBefore = await store.ScalarAsync<long>("SELECT count(*) FROM outbox WHERE subject = @sku", new { sku });

        var clock = Stopwatch.StartNew();
        var result = await batches.ChangeBatchAsync(reduced, 0, EtaChange.Keep, None);
        await TestContext.Progress.WriteLineAsync($"10,000-line reduction stored in {clock.ElapsedMilliseconds} ms");

        // Every line came off; the oldest 6,000 (allocation order) fill the other batch, the newest 4,000 fit nowhere.
        string Order(int n) => prefix + n.ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
        result.Reallocated.Select(r => r.Line.OrderId).Should().Equal(Enumerable.Range(1, room).Select(Order));
        result.Unallocated.Select(l => l.OrderId).Should().Equal(Enumerable.Range(room + 1, lines - room).Select(Order));
        var totals = await store.QueryAsync<(string Reference, int Purchased, int Allocated, long Lines)>(
            """
            SELECT b.reference, b.purchased_quantity, b.allocated_quantity,
                   (SELECT coalesce(sum(ol.qty), 0) FROM allocations a JOIN order_lines ol ON ol.id = a.orderline_id WHERE a.batch_id = b.id)
            FROM batches b WHERE b.sku = @sku ORDER BY b.reference = @reduced DESC
            """,
            new { sku, reduced });
        totals.Should().Equal((reduced, 0, 0, 0L), (other, room, room, (long)room));
        var held = await store.QueryAsync<string>(
            "SELECT ol.orderid FROM order_lines ol JOIN allocations a ON a.orderline_id = ol.id WHERE ol.sku = @sku ORDER BY ol.id", new { sku });
        held.Should().Equal(Enumerable.Range(1, room).Select(Order), "the moved lines keep their place in allocation order");
        (await store.ScalarAsync<long>("SELECT count(*) FROM order_lines WHERE sku = @sku", new { sku }))
            .Should().Be(room, "a line that fits nowhere is gone, not left without its allocation");

        // Every event, numbered on without a gap, all written by the one transaction of the change.
        var events = await store.QueryAsync<(string Type, long Sequence, string Transaction)>(
            "SELECT type, sku_sequence, txid::text FROM outbox WHERE subject = @sku AND sku_sequence > @eventsBefore ORDER BY sku_sequence",
            new { sku, eventsBefore });
        events.Select(e => e.Sequence).Should().Equal(Enumerable.Range((int)eventsBefore + 1, 1 + room + (2 * (lines - room))).Select(i => (long)i));
        events.Select(e => e.Transaction).Distinct().Should().ContainSingle("the change, its moves and its events commit together");
        events.GroupBy(e => e.Type).ToDictionary(g => g.Key, g => g.Count()).Should().BeEquivalentTo(new Dictionary<string, int>
        {
            ["allocation.batch.changed"] = 1,
            ["allocation.line.reallocated"] = room,
            ["allocation.line.deallocated"] = lines - room,
            ["allocation.out_of_stock"] = lines - room,
        });
    }

    [Test]
    public async Task A_batch_change_holds_the_product_lock_so_an_allocation_racing_it_loses_and_the_change_commits()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var (sku, batch) = (Unique.Sku(), Unique.BatchRef());
        await store.Get<BatchService>().AddBatchAsync(batch, sku, 10, null, None);
        var order = Unique.OrderId();

        // Both read version 1; the change takes the product's row lock with its read.
        await using var change = await store.UnitsOfWork.BeginAsync(None);
        await using var allocation = await store.UnitsOfWork.BeginAsync(None);
        var changed = (await change.Products.GetForChangeAsync(sku, None))!;
        (await allocation.Products.GetAsync(sku, order, None))!.Allocate(new OrderLine(order, sku, 1));
        changed.ChangeBatch(batch, 20, EtaChange.Keep);

        // The allocation's commit waits for the change's lock, then finds the version moved on.
        var allocating = allocation.CommitAsync(None);
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        allocating.IsCompleted.Should().BeFalse("the allocation's version move waits for the change's row lock");
        await change.CommitAsync(None);
        await allocating.Awaiting(a => a).Should().ThrowAsync<ConcurrencyConflict>();

        (await store.ScalarAsync<int>("SELECT purchased_quantity FROM batches WHERE reference = @batch", new { batch })).Should().Be(20);
        (await store.ScalarAsync<long>("SELECT count(*) FROM order_lines WHERE orderid = @order", new { order })).Should().Be(0);
    }
}
