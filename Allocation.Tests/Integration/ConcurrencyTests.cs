using Allocation.Application;
using Allocation.Application.Allocations;
using Allocation.Domain;
using Allocation.Tests.Support;

namespace Allocation.Tests.Integration;

public class ConcurrencyTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Test]
    public async Task The_second_of_two_writers_of_one_product_gets_a_conflict_and_writes_nothing()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var (sku, batchRef) = (Unique.Sku(), Unique.BatchRef());
        await store.Get<Allocation.Application.Batches.BatchService>().AddBatchAsync(batchRef, sku, 10, null, None);
        var (first, second) = (Unique.OrderId("1"), Unique.OrderId("2"));

        await using var uow1 = await store.UnitsOfWork.BeginAsync(None);
        await using var uow2 = await store.UnitsOfWork.BeginAsync(None);
        (await uow1.Products.GetAsync(sku, first, None))!.Allocate(new OrderLine(first, sku, 10));
        (await uow2.Products.GetAsync(sku, second, None))!.Allocate(new OrderLine(second, sku, 10));
        await uow1.CommitAsync(None);
        var act = () => uow2.CommitAsync(None);

        await act.Should().ThrowAsync<ConcurrencyConflict>();
        (await store.ScalarAsync<long>("SELECT count(*) FROM order_lines WHERE orderid = @second", new { second })).Should().Be(0);
        (await store.ScalarAsync<int>("SELECT allocated_quantity FROM batches WHERE reference = @batchRef", new { batchRef })).Should().Be(10);
    }

    [Test]
    public async Task A_loser_at_the_version_check_writes_and_locks_nothing_further()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var (sku, batchRef) = (Unique.Sku(), Unique.BatchRef());
        await store.Get<Allocation.Application.Batches.BatchService>().AddBatchAsync(batchRef, sku, 20, null, None);
        var (first, second) = (Unique.OrderId("1"), Unique.OrderId("2"));

        await using var uow1 = await store.UnitsOfWork.BeginAsync(None);
        await using var uow2 = await store.UnitsOfWork.BeginAsync(None);
        (await uow1.Products.GetAsync(sku, first, None))!.Allocate(new OrderLine(first, sku, 5));
        (await uow2.Products.GetAsync(sku, second, None))!.Allocate(new OrderLine(second, sku, 5));
        await uow1.CommitAsync(None);
        var act = () => uow2.CommitAsync(None);
        await act.Should().ThrowAsync<ConcurrencyConflict>();

        // The loser's transaction is still open: had it gone on to write the batch, its row lock would still be held.
        await using var other = await store.OpenAsync();
        await using var transaction = await other.BeginTransactionAsync();
        await using var lockBatch = new Npgsql.NpgsqlCommand(
            "SELECT allocated_quantity FROM batches WHERE reference = @batchRef FOR UPDATE NOWAIT", other, transaction);
        lockBatch.Parameters.AddWithValue("batchRef", batchRef);
        (await lockBatch.ExecuteScalarAsync()).Should().Be(5, "only the winner's line is counted and nobody holds the batch row");
        await using var lines = new Npgsql.NpgsqlCommand("SELECT count(*) FROM order_lines WHERE orderid = @second", other, transaction);
        lines.Parameters.AddWithValue("second", second);
        (await lines.ExecuteScalarAsync()).Should().Be(0L);
    }

    [Test]
    public async Task Many_racing_allocations_of_the_last_units_never_oversell()
    {
        const int units = 12;
        const int racers = 40;
        await using var store = new Store(await TestDatabase.SharedAsync());
        var sku = Unique.Sku();
        var batches = store.Get<Allocation.Application.Batches.BatchService>();
        await batches.AddBatchAsync(Unique.BatchRef("a"), sku, units / 2, null, None);
        await batches.AddBatchAsync(Unique.BatchRef("b"), sku, units / 2, new DateOnly(2030, 1, 1), None);
        var allocations = store.Get<AllocationService>();
        using var start = new ManualResetEventSlim();

        var outcomes = await Task.WhenAll(Enumerable.Range(0, racers).Select(i => Task.Run(async () =>
        {
            start.Wait();
            try
            {
                await allocations.AllocateAsync(Unique.OrderId(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), sku, 1, None);
                return "allocated";
            }
            catch (OutOfStock)
            {
                return "out of stock";
            }
            catch (ConcurrencyConflict)
            {
                return "conflict";
            }
        })).Append(Task.Run(() =>
        {
            start.Set();
            return "starter";
        })));

        outcomes.Count(o => o == "allocated").Should().Be(units);
        outcomes.Count(o => o is "out of stock" or "conflict").Should().Be(racers - units);
        var sums = await store.QueryAsync<(long Lines, long Allocated, long Purchased)>(
            """
            SELECT (SELECT coalesce(sum(qty), 0) FROM order_lines WHERE sku = @sku),
                   sum(allocated_quantity), sum(purchased_quantity)
            FROM batches WHERE sku = @sku
            """, new { sku });
        sums.Single().Should().Be((units, units, units));
        (await store.ScalarAsync<long>(
            "SELECT count(*) FROM batches b WHERE b.sku = @sku AND b.allocated_quantity <> (SELECT coalesce(sum(ol.qty), 0) FROM allocations a JOIN order_lines ol ON ol.id = a.orderline_id WHERE a.batch_id = b.id)",
            new { sku })).Should().Be(0, "every running total matches its lines");
    }
}
