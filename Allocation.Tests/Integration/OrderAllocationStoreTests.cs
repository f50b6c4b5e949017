using Allocation.Application;
using Allocation.Application.Batches;
using Allocation.Application.Orders;
using Allocation.Domain;
using Allocation.Tests.Support;
using Npgsql;

namespace Allocation.Tests.Integration;

/// <summary>
/// Whole orders against real PostgreSQL: one transaction over all of the order's products (a commit
/// that fails keeps nothing), the products taken in SKU order, and no deadlock between orders that
/// share SKUs in any line order.
/// </summary>
public class OrderAllocationStoreTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>SKUs that sort in the order given (ordinal), unique to the test.</summary>
    private static string[] Skus(int count)
    {
        var stem = Unique.Sku();
        return [.. Enumerable.Range(0, count).Select(i => $"{stem}-{(char)('a' + i)}")];
    }

    private static async Task StockAsync(Store store, int quantity, params string[] skus)
    {
        foreach (var sku in skus)
        {
            await store.Get<BatchService>().AddBatchAsync(Unique.BatchRef(), sku, quantity, null, None);
        }
    }

    [Test]
    public async Task A_commit_that_fails_on_one_product_keeps_nothing_of_the_others()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var skus = Skus(3);
        await StockAsync(store, 10, skus);
        var orderId = Unique.OrderId();
        var versionsBefore = await store.QueryAsync<int>("SELECT version_number FROM products WHERE sku = ANY(@skus) ORDER BY sku", new { skus });

        await using var uow = await store.UnitsOfWork.BeginAsync(None);
        var products = new List<Product>();
        foreach (var sku in skus)
        {
            products.Add((await uow.Products.GetAsync(sku, orderId, None))!);
        }

        WholeOrder.Allocate([.. skus.Select(s => new OrderLine(orderId, s, 2))], products).IsAllocated.Should().BeTrue();
        // A rival moves the last product on after it was read: the order's third statement loses its version check.
        await store.Get<Allocation.Application.Allocations.AllocationService>().AllocateAsync(Unique.OrderId("rival"), skus[2], 1, None);
        var act = () => uow.CommitAsync(None);

        await act.Should().ThrowAsync<ConcurrencyConflict>();
        await uow.DisposeAsync();
        (await store.ScalarAsync<long>("SELECT count(*) FROM order_lines WHERE orderid = @orderId", new { orderId })).Should().Be(0);
        (await store.ScalarAsync<long>("SELECT count(*) FROM outbox WHERE data->>'orderid' = @orderId", new { orderId })).Should().Be(0);
        (await store.QueryAsync<int>("SELECT allocated_quantity FROM batches WHERE sku = ANY(@skus) ORDER BY sku", new { skus }))
            .Should().Equal(0, 0, 1);
        (await store.QueryAsync<int>("SELECT version_number FROM products WHERE sku = ANY(@skus) ORDER BY sku", new { skus }))
            .Should().Equal(versionsBefore[0], versionsBefore[1], versionsBefore[2] + 1);
    }

    [Test]
    public async Task An_allocated_order_stores_its_lines_and_events_in_one_transaction_and_the_order_event_last()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var skus = Skus(3);
        await StockAsync(store, 10, skus);
        var orderId = Unique.OrderId();

        var result = await store.Get<OrderAllocationService>().AllocateOrderAsync(
            orderId, [new RequestedLine(skus[2], 1), new RequestedLine(skus[0], 2), new RequestedLine(skus[1], 3)], None);

        result.IsAllocated.Should().BeTrue();
        var events = await store.QueryAsync<(string Type, string Subject, long Sequence, string Txid)>(
            "SELECT type, subject, sku_sequence, txid::text FROM outbox WHERE data->>'orderid' = @orderId ORDER BY id", new { orderId });
        events.Select(e => (e.Type, e.Subject)).Should().Equal(
            ("allocation.line.allocated", skus[0]),
            ("allocation.line.allocated", skus[1]),
            ("allocation.line.allocated", skus[2]),
            ("allocation.order.allocated", skus[2]));
        events.Select(e => e.Txid).Distinct().Should().ContainSingle("one transaction");
        events.Select(e => e.Sequence).Should().Equal(2, 2, 2, 3);
        (await store.ScalarAsync<string>("SELECT data::text FROM outbox WHERE data->>'orderid' = @orderId AND type = 'allocation.order.allocated'", new { orderId }))
            .Should().Be($$"""{"orderid":"{{orderId}}","lines":[{"sku":"{{skus[0]}}","qty":2,"batchref":"{{result.Lines[0].BatchReference}}"},{"sku":"{{skus[1]}}","qty":3,"batchref":"{{result.Lines[1].BatchReference}}"},{"sku":"{{skus[2]}}","qty":1,"batchref":"{{result.Lines[2].BatchReference}}"}]}""");
    }

    [Test]
    public async Task A_rejected_order_stores_only_its_rejection_on_the_greatest_sku_and_moves_no_other_product()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var skus = Skus(3);
        await StockAsync(store, 2, skus);
        var orderId = Unique.OrderId();
        var versionsBefore = await store.QueryAsync<int>("SELECT version_number FROM products WHERE sku = ANY(@skus) ORDER BY sku", new { skus });

        var result = await store.Get<OrderAllocationService>().AllocateOrderAsync(
            orderId, [new RequestedLine(skus[1], 3), new RequestedLine(skus[0], 1), new RequestedLine(skus[2], 1)], None);

        result.OutOfStockSkus.Should().Equal(skus[1]);
        (await store.QueryAsync<(string Type, string Subject, string Data)>(
            "SELECT type, subject, data::text FROM outbox WHERE data->>'orderid' = @orderId ORDER BY id", new { orderId }))
            .Should().Equal(("allocation.order.rejected", skus[2],
                $$"""{"orderid":"{{orderId}}","lines":[{"sku":"{{skus[0]}}","qty":1},{"sku":"{{skus[1]}}","qty":3},{"sku":"{{skus[2]}}","qty":1}],"out_of_stock":["{{skus[1]}}"]}"""));
        (await store.QueryAsync<int>("SELECT version_number FROM products WHERE sku = ANY(@skus) ORDER BY sku", new { skus }))
            .Should().Equal(versionsBefore[0], versionsBefore[1], versionsBefore[2] + 1);
        (await store.ScalarAsync<long>("SELECT count(*) FROM order_lines WHERE orderid = @orderId", new { orderId })).Should().Be(0);
    }

    [Test]
    public async Task The_products_are_locked_in_sku_order_whatever_the_order_of_the_lines()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var skus = Skus(2);
        await StockAsync(store, 10, skus);
        var orderId = Unique.OrderId();

        // Hold the greater SKU's row: the order must have taken the smaller one first and wait here.
        await using var blocker = await store.OpenAsync();
        await using var blocking = await blocker.BeginTransactionAsync();
        await using (var lockGreater = new NpgsqlCommand("SELECT 1 FROM products WHERE sku = @sku FOR UPDATE", blocker, blocking))
        {
            lockGreater.Parameters.AddWithValue("sku", skus[1]);
            await lockGreater.ExecuteScalarAsync();
        }

        var order = store.Get<OrderAllocationService>().AllocateOrderAsync(
            orderId, [new RequestedLine(skus[1], 1), new RequestedLine(skus[0], 1)], None);
        await WaitUntilAsync(async () => await store.ScalarAsync<long>(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()") > 0);

        await using (var probe = await store.OpenAsync())
        await using (var probing = await probe.BeginTransactionAsync())
        await using (var lockSmaller = new NpgsqlCommand("SELECT 1 FROM products WHERE sku = @sku FOR UPDATE NOWAIT", probe, probing))
        {
            lockSmaller.Parameters.AddWithValue("sku", skus[0]);
            var act = () => lockSmaller.ExecuteScalarAsync();
            (await act.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.LockNotAvailable,
                "the order holds the smaller SKU while it waits for the greater one");
        }

        await blocking.RollbackAsync();
        (await order).IsAllocated.Should().BeTrue();
    }

    [Test]
    public async Task Twenty_concurrent_orders_sharing_skus_in_random_line_orders_never_deadlock_nor_oversell()
    {
        await using var database = await TestDatabase.OwnAsync();
        var skus = Skus(5);
        // Four stores: four instances' worth of SKU gates, so that the database itself sees the writers race.
        var stores = Enumerable.Range(0, 4).Select(_ => new Store(database)).ToList();
        await StockAsync(stores[0], 12, skus);
        var deadlocksBefore = await DeadlocksAsync(stores[0]);
        using var start = new ManualResetEventSlim();

        var running = Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
        {
            var random = new Random(i);
            var lines = skus.OrderBy(_ => random.Next()).Take(3).Select(s => new RequestedLine(s, random.Next(1, 4))).ToList();
            var orderId = Unique.OrderId(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            start.Wait();
            var result = await stores[i % stores.Count].Get<OrderAllocationService>().AllocateOrderAsync(orderId, lines, None);
            return (OrderId: orderId, Lines: lines, Result: result);
        })).ToList();
        start.Set();
        var orders = await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(60));
        foreach (var store in stores)
        {
            // The backends' statistics are flushed when they exit.
            await store.DisposeAsync();
        }

        await using var checker = new Store(database);
        (await DeadlocksAsync(checker)).Should().Be(deadlocksBefore, "orders take their products in one order");
        (await checker.ScalarAsync<long>("SELECT count(*) FROM batches WHERE allocated_quantity > purchased_quantity")).Should().Be(0);
        orders.Should().Contain(o => o.Result.IsAllocated).And.Contain(o => !o.Result.IsAllocated, "demand was sized to exceed the stock");
        foreach (var (orderId, lines, result) in orders)
        {
            var stored = await checker.QueryAsync<(string Sku, int Qty)>(
                "SELECT sku, qty FROM order_lines WHERE orderid = @orderId ORDER BY sku COLLATE \"C\"", new { orderId });
            stored.Should().Equal(
                result.IsAllocated ? lines.OrderBy(l => l.Sku, StringComparer.Ordinal).Select(l => (l.Sku, l.Quantity)) : [],
                "an order is wholly allocated or not at all");
        }
    }

    /// <summary>Deadlocks PostgreSQL detected in the database (what a backend counted is visible once it flushed its statistics).</summary>
    private static async Task<long> DeadlocksAsync(Store store)
    {
        return await store.ScalarAsync<long>(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await condition())
        {
            DateTime.UtcNow.Should().BeBefore(deadline, "the condition should have held by now");
            await Task.Delay(20);
        }
    }
}
