using System.Text.Json;
using Allocation.Application;
using Allocation.Application.Allocations;
using Allocation.Application.Batches;
using Allocation.Domain;
using Allocation.Tests.Support;

namespace Allocation.Tests.Integration;

/// <summary>Events are written by the change's own transaction: all of them with it, none without it.</summary>
public class OutboxTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private sealed record Row(string Type, long SkuSequence, string Data);

    private static Task<IReadOnlyList<Row>> EventsOfAsync(Store store, string sku) =>
        store.QueryAsync<Row>(
            "SELECT type AS Type, sku_sequence AS SkuSequence, data::text AS Data FROM outbox WHERE subject = @sku ORDER BY sku_sequence",
            new { sku });

    [Test]
    public async Task Every_use_case_stores_its_events_numbered_per_sku_and_a_repeat_stores_none()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var batches = store.Get<BatchService>();
        var allocations = store.Get<AllocationService>();
        var (sku, warehouse, shipment) = (Unique.Sku(), Unique.BatchRef("w"), Unique.BatchRef("s"));
        var (first, second) = (Unique.OrderId("1"), Unique.OrderId("2"));

        await batches.AddBatchAsync(warehouse, sku, 10, null, None);
        await batches.AddBatchAsync(shipment, sku, 5, new DateOnly(2027, 3, 1), None);
        await allocations.AllocateAsync(first, sku, 6, None);
        await allocations.AllocateAsync(first, sku, 6, None);
        await allocations.AllocateAsync(second, sku, 4, None);
        var outOfStock = () => allocations.AllocateAsync(Unique.OrderId("3"), sku, 50, None);
        await outOfStock.Should().ThrowAsync<OutOfStock>();
        await batches.ChangeBatchAsync(warehouse, 8, EtaChange.Keep, None);
        await allocations.DeallocateAsync(first, sku, None);

        var events = await EventsOfAsync(store, sku);
        events.Select(e => (e.SkuSequence, e.Type)).Should().Equal(
            (1, "allocation.batch.created"),
            (2, "allocation.batch.created"),
            (3, "allocation.line.allocated"),
            (4, "allocation.line.allocated"),
            (5, "allocation.out_of_stock"),
            (6, "allocation.batch.changed"),
            (7, "allocation.line.reallocated"),
            (8, "allocation.line.deallocated"));
        JsonDocument.Parse(events[6].Data).RootElement.GetProperty("to").GetString().Should().Be(shipment);
        JsonDocument.Parse(events[7].Data).RootElement.GetProperty("reason").GetString().Should().Be("requested");
    }

    [Test]
    public async Task A_reduction_moves_lines_in_the_database_and_keeps_every_total_true()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var batches = store.Get<BatchService>();
        var allocations = store.Get<AllocationService>();
        var (sku, reduced, other) = (Unique.Sku(), Unique.BatchRef("r"), Unique.BatchRef("o"));
        await batches.AddBatchAsync(reduced, sku, 10, null, None);
        await batches.AddBatchAsync(other, sku, 4, new DateOnly(2027, 1, 1), None);
        var orders = Enumerable.Range(1, 5).Select(i => Unique.OrderId(i.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToArray();
        foreach (var order in orders)
        {
            await allocations.AllocateAsync(order, sku, 2, None);
        }

        var result = await batches.ChangeBatchAsync(reduced, 3, EtaChange.Keep, None);

        // 10 allocated, 3 left: the four newest lines come off (2 + 2 + 2 + 2, leaving 2); the oldest of
        // them choose first, and two fit in the other batch.
        result.Reallocated.Select(r => r.Line.OrderId).Should().Equal(orders[1], orders[2]);
        result.Unallocated.Select(l => l.OrderId).Should().Equal(orders[3], orders[4]);
        var totals = await store.QueryAsync<(string Reference, int Purchased, int Allocated, long Lines)>(
            """
            SELECT b.reference, b.purchased_quantity, b.allocated_quantity,
                   (SELECT coalesce(sum(ol.qty), 0) FROM allocations a JOIN order_lines ol ON ol.id = a.orderline_id WHERE a.batch_id = b.id)
            FROM batches b WHERE b.sku = @sku ORDER BY b.reference = @reduced DESC
            """,
            new { sku, reduced });
        totals.Should().Equal((reduced, 3, 2, 2L), (other, 4, 4, 4L));
        (await store.Reads.GetAllocationsAsync(orders[4], None)).Should().BeEmpty();
        (await store.Reads.GetAllocationsAsync(orders[2], None)).Single().BatchReference.Should().Be(other);
    }

    [Test]
    public async Task A_unit_of_work_that_does_not_commit_leaves_no_event()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var sku = Unique.Sku();
        await store.Get<BatchService>().AddBatchAsync(Unique.BatchRef(), sku, 10, null, None);
        var order = Unique.OrderId();

        await using (var uow = await store.UnitsOfWork.BeginAsync(None))
        {
            (await uow.Products.GetAsync(sku, order, None))!.Allocate(new OrderLine(order, sku, 1));
        }

        (await EventsOfAsync(store, sku)).Select(e => e.Type).Should().Equal("allocation.batch.created");
    }

    [Test]
    public async Task The_loser_of_a_race_writes_no_event_and_the_winner_all_of_its_own()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var sku = Unique.Sku();
        await store.Get<BatchService>().AddBatchAsync(Unique.BatchRef(), sku, 10, null, None);
        var (winner, loser) = (Unique.OrderId("w"), Unique.OrderId("l"));

        await using var first = await store.UnitsOfWork.BeginAsync(None);
        await using var second = await store.UnitsOfWork.BeginAsync(None);
        (await first.Products.GetAsync(sku, winner, None))!.Allocate(new OrderLine(winner, sku, 1));
        (await second.Products.GetAsync(sku, loser, None))!.Allocate(new OrderLine(loser, sku, 1));
        await first.CommitAsync(None);
        var lose = () => second.CommitAsync(None);

        await lose.Should().ThrowAsync<ConcurrencyConflict>();
        var events = await EventsOfAsync(store, sku);
        events.Select(e => e.Type).Should().Equal("allocation.batch.created", "allocation.line.allocated");
        events[1].Data.Should().Contain(winner).And.NotContain(loser);
    }
}
