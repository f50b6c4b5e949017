using Allocation.Application;
using Allocation.Domain;

namespace Allocation.Tests.Unit.Application;

public class AllocateTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Test]
    public async Task Returns_the_allocated_batch()
    {
        var uows = new FakeUnitOfWorkFactory(FakeStore.With(new Batch("b1", "COMPLICATED-LAMP", 100, eta: null)));

        var result = await Services.Allocations(uows).AllocateAsync("o1", "COMPLICATED-LAMP", 10, None);

        result.Should().Be("b1");
    }

    [Test]
    public async Task Errors_for_an_invalid_sku()
    {
        var uows = new FakeUnitOfWorkFactory(FakeStore.With(new Batch("b1", "AREALSKU", 100, eta: null)));

        var act = () => Services.Allocations(uows).AllocateAsync("o1", "NONEXISTENTSKU", 10, None);

        await act.Should().ThrowAsync<InvalidSku>().WithMessage("Invalid sku NONEXISTENTSKU");
        uows.Commits.Should().Be(0);
    }

    [Test]
    public async Task Commits_exactly_once_on_success()
    {
        var store = FakeStore.With(new Batch("b1", "OMINOUS-MIRROR", 100, eta: null));
        var uows = new FakeUnitOfWorkFactory(store);

        await Services.Allocations(uows).AllocateAsync("o1", "OMINOUS-MIRROR", 10, None);

        uows.Commits.Should().Be(1);
        store.Load("OMINOUS-MIRROR", "o1")!.Batches[0].AllocatedQuantity.Should().Be(10);
        uows.Begun.Should().ContainSingle().Which.Disposed.Should().BeTrue();
    }

    [Test]
    public async Task Out_of_stock_commits_only_the_out_of_stock_event()
    {
        var store = FakeStore.With(new Batch("b1", "TINY", 1, eta: null));
        var uows = new FakeUnitOfWorkFactory(store);

        var act = () => Services.Allocations(uows).AllocateAsync("o1", "TINY", 2, None);

        await act.Should().ThrowAsync<OutOfStock>().WithMessage("Out of stock for sku TINY");
        store.CommittedEvents.Should().Equal(new StockRanOut(new OrderLine("o1", "TINY", 2)));
        store.Load("TINY", "o1")!.Batches[0].AllocatedQuantity.Should().Be(0);
        uows.Begun.Should().OnlyContain(u => u.Disposed);
    }

    [Test]
    public async Task Prefers_warehouse_stock_through_the_service()
    {
        var uows = new FakeUnitOfWorkFactory(FakeStore.With(
            new Batch("shipment", "SOFA", 100, eta: new DateOnly(2026, 12, 1)),
            new Batch("warehouse", "SOFA", 100, eta: null)));

        (await Services.Allocations(uows).AllocateAsync("o1", "SOFA", 1, None)).Should().Be("warehouse");
    }

    [Test]
    public async Task Repeating_an_allocation_returns_the_same_batch()
    {
        var store = FakeStore.With(new Batch("b1", "SOFA", 5, eta: null), new Batch("b2", "SOFA", 5, eta: new DateOnly(2030, 1, 1)));
        var service = Services.Allocations(new FakeUnitOfWorkFactory(store));

        var first = await service.AllocateAsync("o1", "SOFA", 5, None);
        var second = await service.AllocateAsync("o1", "SOFA", 5, None);

        second.Should().Be(first);
        store.Load("SOFA", "o1")!.Batches.Sum(b => b.AllocatedQuantity).Should().Be(5);
    }
}
