using Allocation.Application;
using Allocation.Domain;
using Allocation.Tests.Support;

namespace Allocation.Tests.Integration;

public class ProductRepositoryTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static async Task AddProductAsync(Store store, string sku, params Batch[] batches)
    {
        await using var uow = await store.UnitsOfWork.BeginAsync(None);
        var product = new Product(sku, []);
        uow.Products.Add(product);
        foreach (var batch in batches)
        {
            product.AddBatch(batch);
        }

        await uow.CommitAsync(None);
    }

    /// <summary>One use case's worth of change: load the product for the order, change it, commit.</summary>
    private static async Task ChangeProductAsync(Store store, string sku, string orderId, Action<Product> change)
    {
        await using var uow = await store.UnitsOfWork.BeginAsync(None);
        change((await uow.Products.GetAsync(sku, orderId, None))!);
        await uow.CommitAsync(None);
    }

    [Test]
    public async Task Every_column_of_a_product_round_trips_with_and_without_an_eta()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var sku = Unique.Sku();
        var (warehouse, shipment) = (Unique.BatchRef("w"), Unique.BatchRef("s"));
        await AddProductAsync(store, sku,
            new Batch(warehouse, sku, 100, eta: null),
            new Batch(shipment, sku, 50, eta: new DateOnly(2027, 2, 28)));

        await using var uow = await store.UnitsOfWork.BeginAsync(None);
        var product = await uow.Products.GetAsync(sku, orderId: null, None);

        product.Should().NotBeNull();
        product!.Sku.Should().Be(sku);
        product.VersionNumber.Should().Be(1, "both batches were added by one unit of work, stored as one step");
        product.Batches.Select(b => (b.Reference, b.Sku, b.PurchasedQuantity, b.Eta, b.AllocatedQuantity))
            .Should().BeEquivalentTo([
                (warehouse, sku, 100, (DateOnly?)null, 0),
                (shipment, sku, 50, (DateOnly?)new DateOnly(2027, 2, 28), 0),
            ]);
    }

    [Test]
    public async Task An_allocation_is_stored_as_a_line_an_allocation_and_a_running_total()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var (sku, batchRef, orderId) = (Unique.Sku(), Unique.BatchRef(), Unique.OrderId());
        await AddProductAsync(store, sku, new Batch(batchRef, sku, 20, eta: null));

        await ChangeProductAsync(store, sku, orderId, product => product.Allocate(new OrderLine(orderId, sku, 7)));

        (await store.ScalarAsync<int>("SELECT allocated_quantity FROM batches WHERE reference = @batchRef", new { batchRef })).Should().Be(7);
        (await store.ScalarAsync<int>("SELECT qty FROM order_lines WHERE orderid = @orderId AND sku = @sku", new { orderId, sku })).Should().Be(7);
        (await store.Reads.GetAllocationsAsync(orderId, None)).Should().ContainSingle()
            .Which.Should().BeEquivalentTo(new { Sku = sku, BatchReference = batchRef });

        await using var reload = await store.UnitsOfWork.BeginAsync(None);
        var reloaded = await reload.Products.GetAsync(sku, orderId, None);
        reloaded!.Batches.Single().Allocations.Should().Equal(new OrderLine(orderId, sku, 7));
        reloaded.Batches.Single().AvailableQuantity.Should().Be(13);
    }

    [Test]
    public async Task Deallocation_removes_the_line_and_gives_the_quantity_back()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var (sku, batchRef, orderId) = (Unique.Sku(), Unique.BatchRef(), Unique.OrderId());
        await AddProductAsync(store, sku, new Batch(batchRef, sku, 20, eta: null));
        await ChangeProductAsync(store, sku, orderId, product => product.Allocate(new OrderLine(orderId, sku, 5)));
        await ChangeProductAsync(store, sku, orderId, product => product.Deallocate(orderId));

        (await store.ScalarAsync<int>("SELECT allocated_quantity FROM batches WHERE reference = @batchRef", new { batchRef })).Should().Be(0);
        (await store.ScalarAsync<long>("SELECT count(*) FROM order_lines WHERE orderid = @orderId", new { orderId })).Should().Be(0);
        (await store.Reads.GetAllocationsAsync(orderId, None)).Should().BeEmpty();
    }

    [Test]
    public async Task Disposing_without_commit_rolls_everything_back()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var (sku, batchRef, orderId) = (Unique.Sku(), Unique.BatchRef(), Unique.OrderId());
        await AddProductAsync(store, sku, new Batch(batchRef, sku, 20, eta: null));

        await using (var uow = await store.UnitsOfWork.BeginAsync(None))
        {
            var product = await uow.Products.GetAsync(sku, orderId, None);
            product!.Allocate(new OrderLine(orderId, sku, 5));
            product.AddBatch(new Batch(Unique.BatchRef(), sku, 5, eta: null));
        }

        (await store.ScalarAsync<long>("SELECT count(*) FROM batches WHERE sku = @sku", new { sku })).Should().Be(1);
        (await store.ScalarAsync<int>("SELECT version_number FROM products WHERE sku = @sku", new { sku })).Should().Be(1);
        (await store.ScalarAsync<long>("SELECT count(*) FROM order_lines WHERE orderid = @orderId", new { orderId })).Should().Be(0);
    }

    [Test]
    public async Task A_commit_that_fails_part_way_keeps_nothing_it_had_already_written()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var (first, second) = (Unique.Sku("first"), Unique.Sku("second"));
        var firstBatch = Unique.BatchRef("first");
        await AddProductAsync(store, first, new Batch(firstBatch, first, 10, eta: null));
        await AddProductAsync(store, second, new Batch(Unique.BatchRef("second"), second, 10, eta: null));
        var (orderId, rival) = (Unique.OrderId(), Unique.OrderId("rival"));

        await using (var uow = await store.UnitsOfWork.BeginAsync(None))
        {
            (await uow.Products.GetAsync(first, orderId, None))!.Allocate(new OrderLine(orderId, first, 3));
            (await uow.Products.GetAsync(second, orderId, None))!.Allocate(new OrderLine(orderId, second, 3));
            // A rival changes the second product after it was read: the commit writes the first
            // product's change, then finds the second product moved on. No database error: the
            // transaction is still healthy, so only the rollback on dispose keeps the first change out.
            await ChangeProductAsync(store, second, rival, product => product.Allocate(new OrderLine(rival, second, 1)));

            var commit = () => uow.CommitAsync(None);
            await commit.Should().ThrowAsync<ConcurrencyConflict>();
        }

        (await store.ScalarAsync<long>("SELECT count(*) FROM order_lines WHERE orderid = @orderId", new { orderId })).Should().Be(0);
        (await store.ScalarAsync<int>("SELECT allocated_quantity FROM batches WHERE reference = @firstBatch", new { firstBatch })).Should().Be(0);
        (await store.ScalarAsync<int>("SELECT version_number FROM products WHERE sku = @first", new { first })).Should().Be(1);
    }

    [Test]
    public async Task Loading_a_product_reads_only_that_sku_and_only_the_line_of_the_order_asked_for()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var (sku, otherSku) = (Unique.Sku(), Unique.Sku("other"));
        var (batchRef, otherRef) = (Unique.BatchRef(), Unique.BatchRef("other"));
        var (mine, someoneElses) = (Unique.OrderId("mine"), Unique.OrderId("theirs"));
        await AddProductAsync(store, sku, new Batch(batchRef, sku, 100, eta: null));
        await AddProductAsync(store, otherSku, new Batch(otherRef, otherSku, 100, eta: null));
        foreach (var (order, productSku) in new[] { (mine, sku), (someoneElses, sku), (mine, otherSku) })
        {
            await ChangeProductAsync(store, productSku, order, product => product.Allocate(new OrderLine(order, productSku, 3)));
        }

        await using var read = await store.UnitsOfWork.BeginAsync(None);
        var loaded = await read.Products.GetAsync(sku, mine, None);

        loaded!.Batches.Should().ContainSingle().Which.Reference.Should().Be(batchRef);
        loaded.Batches.Single().Allocations.Should().Equal(new OrderLine(mine, sku, 3));
        loaded.Batches.Single().AllocatedQuantity.Should().Be(6, "the running total counts lines that were not loaded");
    }

    [Test]
    public async Task An_unknown_sku_loads_as_null()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        await using var uow = await store.UnitsOfWork.BeginAsync(None);

        (await uow.Products.GetAsync(Unique.Sku(), Unique.OrderId(), None)).Should().BeNull();
    }

    [Test]
    public async Task A_duplicate_batch_reference_across_skus_is_refused_and_leaves_nothing_behind()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var (sku, otherSku, batchRef) = (Unique.Sku(), Unique.Sku("other"), Unique.BatchRef());
        await AddProductAsync(store, sku, new Batch(batchRef, sku, 10, eta: null));

        var act = () => AddProductAsync(store, otherSku, new Batch(batchRef, otherSku, 10, eta: null));

        await act.Should().ThrowAsync<DuplicateBatch>();
        (await store.ScalarAsync<long>("SELECT count(*) FROM products WHERE sku = @otherSku", new { otherSku })).Should().Be(0);
    }

    [Test]
    public async Task Reading_a_batch_returns_its_totals()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var (sku, batchRef) = (Unique.Sku(), Unique.BatchRef());
        await AddProductAsync(store, sku, new Batch(batchRef, sku, 10, eta: new DateOnly(2030, 1, 31)));

        var view = await store.Reads.GetBatchAsync(batchRef, None);

        view.Should().BeEquivalentTo(new { Reference = batchRef, Sku = sku, PurchasedQuantity = 10, Eta = (DateOnly?)new DateOnly(2030, 1, 31), AllocatedQuantity = 0, AvailableQuantity = 10 });
        (await store.Reads.GetBatchAsync(Unique.BatchRef(), None)).Should().BeNull();
    }
}
